"""The coordinator's review queue: sessions held from billing and conflicting copies."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HeldSessionPublic(BaseModel):
    """A booked session kept out of billing until a coordinator decides."""

    model_config = ConfigDict(from_attributes=True)

    session_id: str
    member: str
    reason: str
    held_at: datetime
    outcome: str | None
    decided_at: datetime | None
    decided_by: str | None


class SessionConflictPublic(BaseModel):
    """A session delivered again with another body: the booking stands, the copy is shown."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: str
    topic: str
    gateway: str | None
    received_at: datetime
    booked: dict[str, object] = Field(description="The session as booked (the first copy)")
    delivered: dict[str, object] = Field(description="The copy that came later")

    @field_validator("booked", "delivered", mode="before")
    @classmethod
    def _from_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value
