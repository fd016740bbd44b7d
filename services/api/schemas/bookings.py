"""Bookings: a slot of a machine kept for a member."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from services.api.schemas.common import Id, Instant


class BookingCreate(BaseModel):
    """Book a slot; `member` left out books it for oneself (only staff book for others)."""

    model_config = ConfigDict(extra="forbid")

    machine: Id
    starts_at: Instant
    ends_at: Instant
    member: Id | None = None


class BookingPublic(BaseModel):
    """A booking as the ledger holds it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    machine: Id
    member: Id
    starts_at: datetime
    ends_at: datetime
    status: str
    created_by: str
    created_at: datetime
    released_at: datetime | None
