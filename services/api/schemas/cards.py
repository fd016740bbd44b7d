"""Cards: registered by typing the UID printed on them, or by badging them at a machine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.api.schemas.common import CardHash, Id, Label

CardUid = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f:\- ]{4,47}$")]


class CardBase(BaseModel):
    """Whose card it is and what it is called."""

    member: Id
    label: Label | None = None


class CardCreate(CardBase):
    """A card by its UID (hashed with the site key here, never stored) or by its hash."""

    model_config = ConfigDict(extra="forbid")

    uid: CardUid | None = None
    card_hash: CardHash | None = None

    @model_validator(mode="after")
    def _one_of_uid_or_hash(self) -> CardCreate:
        if (self.uid is None) == (self.card_hash is None):
            raise ValueError("give exactly one of uid or card_hash")
        return self


class CardEnrol(CardBase):
    """Enrol the next card badged at a machine."""

    model_config = ConfigDict(extra="forbid")

    machine: Id
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 60.0


class CardPublic(CardBase):
    """A card as the registry holds it."""

    model_config = ConfigDict(from_attributes=True)

    card_hash: str
    issued_at: datetime
    revoked_at: datetime | None
    party_id: int | None = None
