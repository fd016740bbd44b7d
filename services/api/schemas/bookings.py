"""Bookings: a slot of a machine kept for a member."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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


class BookingRulesSave(BaseModel):
    """A machine's booking rules; left out, a rule takes its default."""

    model_config = ConfigDict(extra="forbid")

    slot_minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    horizon_days: Annotated[int, Field(ge=1, le=366)] = 14
    max_open: Annotated[int, Field(ge=1, le=1000)] = 3
    grace_minutes: Annotated[int, Field(ge=0, le=1440)] = 15
    notice_minutes: Annotated[int, Field(ge=0, le=20160)] = 60
    warn_before_minutes: Annotated[int, Field(ge=0, le=1440)] = 10
    qualified_only: bool = True
    plans: Annotated[list[Id], Field(max_length=50)] = []
    hours: Annotated[str, Field(max_length=2000)] = ""
    closures: Annotated[str, Field(max_length=4000)] = ""


class BookingRulesPublic(BookingRulesSave):
    """A machine's booking rules as stored."""

    model_config = ConfigDict(extra="forbid")

    machine: Id
