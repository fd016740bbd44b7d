"""Members, and everything held about one of them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.api.schemas.cards import CardPublic
from services.api.schemas.common import Email, Id, Name
from services.api.schemas.consumables import TakePublic
from services.api.schemas.credit import MovementPublic, PackPublic
from services.api.schemas.parties import PartyPublic
from services.api.schemas.payments import PaymentPublic
from services.api.schemas.qualifications import QualificationPublic
from services.api.schemas.sessions import BadgePublic, SessionPublic


class MemberBase(BaseModel):
    """What a member is called and how to reach them."""

    name: Name
    email: Email | None = None


class MemberCreate(MemberBase):
    """A new member, under the id gateways will put on the wire."""

    model_config = ConfigDict(extra="forbid")

    id: Id


class MemberUpdate(BaseModel):
    """A change of name or e-mail; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Email | None = None


class MemberPublic(MemberBase):
    """A member as the registry holds them."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    joined_at: datetime
    erased_at: datetime | None


class ErasurePublic(BaseModel):
    """What erasing a member did: what was reassigned to her erased id and what was dropped."""

    member: str
    erased_id: str
    sessions_reassigned: int
    badges_reassigned: int
    statements_reassigned: int
    dead_letters_scrubbed: int
    notes_scrubbed: int
    retained_states_republished: int
    cards_removed: int
    qualifications_removed: int
    parties_removed: int
    logins_disabled: int
    consumables_reassigned: int = 0


class StatementExport(BaseModel):
    """A statement or credit note of the member, as the export lists it; amounts in cents."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: str
    month: str
    number: str | None
    member_name: str
    member_email: str | None
    currency: str
    net_cents: int
    vat_cents: int
    total_cents: int
    made_at: datetime
    issued_at: datetime | None


class AuditExport(BaseModel):
    """An entry of the billing run log whose detail names the member."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    month: str
    step: str
    started_at: datetime
    outcome: str
    detail: str | None


class DeadLetterExport(BaseModel):
    """A refused message that names the member, with why it was refused."""

    id: int
    received_at: datetime
    topic: str
    message: str
    error: str
    field: str | None


class LoginPublic(BaseModel):
    """A login that stands for the member (never its password hash)."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


class MemberExport(BaseModel):
    """Everything the workshop holds about one member, as one JSON document."""

    exported_at: datetime
    member: MemberPublic
    cards: list[CardPublic]
    qualifications: list[QualificationPublic]
    sessions: list[SessionPublic]
    badges: list[BadgePublic]
    statements: list[StatementExport]
    dead_letters: list[DeadLetterExport]
    audit: list[AuditExport]
    logins: list[LoginPublic]
    parties: list[PartyPublic]
    payments: list[PaymentPublic] = Field(default_factory=list)  # paid on her statements
    credit: list[MovementPublic] = Field(default_factory=list)  # her credit's movements
    packs: list[PackPublic] = Field(default_factory=list)
    consumables: list[TakePublic] = Field(default_factory=list)  # what she took, priced
