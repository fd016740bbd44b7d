"""Sessions as booked: who used which machine, when, for how long, how much energy."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SessionPublic(BaseModel):
    """One booked session."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    machine: str
    member: str
    started: datetime
    ended: datetime
    unlocked_s: float
    running_s: float
    idle_s: float
    energy_wh: float
    end_reason: str
    clock_ok: bool


class BadgePublic(BaseModel):
    """A card presented at a machine and the gateway's decision."""

    model_config = ConfigDict(from_attributes=True)

    machine: str
    decision: str
    reason: str
    member: str | None
    at: datetime
