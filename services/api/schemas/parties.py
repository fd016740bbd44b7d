"""Billing parties: whom a member's documents are made out to (herself, her company, a project).

The fiscal checks (check characters, a business party's recipient code or PEC, CAP and
provincia) are `services.fiscal`'s, run by the ledger before anything is stored; here the
fields only have to be text of a sane length, so a refusal names the field either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.api.schemas.common import CardHash, Id
from services.fiscal import PartyKind

# Longer than any fiscal field allows (a PEC may have 256 characters): the fiscal check says why.
Text = Annotated[str, StringConstraints(max_length=256)]
PartyLabel = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class PartyFields(BaseModel):
    """A party's fiscal fields, the address flat; each optional here, the fiscal check decides."""

    name: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    fiscal_code: Text | None = None
    vat_number: Text | None = None
    street: Text | None = None
    civic_number: Text | None = None
    cap: Text | None = None
    comune: Text | None = None
    provincia: Text | None = None
    nazione: Text | None = None
    recipient_code: Text | None = None
    pec: Text | None = None


class PartyCreate(PartyFields):
    """A new party of a member; `default` makes it the one her sessions go to."""

    model_config = ConfigDict(extra="forbid")

    label: PartyLabel
    kind: PartyKind
    default: bool = False


class PartyUpdate(PartyFields):
    """What changes in a party: the fields given (null clears one); the rest stays."""

    model_config = ConfigDict(extra="forbid")

    label: PartyLabel | None = None
    kind: PartyKind | None = None


class PartyCard(BaseModel):
    """A card of the member whose sessions go to the party."""

    model_config = ConfigDict(extra="forbid")

    card_hash: CardHash


class PartyPublic(BaseModel):
    """A party as the ledger holds it, with the cards whose sessions go to it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    member: Id
    label: str
    kind: PartyKind
    name: str | None
    first_name: str | None
    last_name: str | None
    fiscal_code: str | None
    vat_number: str | None
    street: str
    civic_number: str | None
    cap: str
    comune: str
    provincia: str | None
    nazione: str
    recipient_code: str | None
    pec: str | None
    is_default: bool
    created_at: datetime
    cards: list[str] = []
