"""Sessions, members and tariffs for the billing tests, in the workshop's own numbers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.billing.engine import MemberAccount
from services.billing.usage import UsageSession, epoch_ms

ROME = ZoneInfo("Europe/Rome")
SITE = "officina-nord"
LASER = "laser-1"
LATHE = "lathe-1"


def rome(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, fold: int = 0
) -> datetime:
    """A Rome wall-clock time as a UTC instant (`fold=1`: the second 02:30 on the DST night)."""
    return datetime(year, month, day, hour, minute, tzinfo=ROME, fold=fold).astimezone(UTC)


def usage(
    member: str,
    started: datetime,
    *,
    minutes: float,
    running_minutes: float | None = None,
    kwh: float = 0.0,
    machine: str = LASER,
    site: str = SITE,
    session_id: str | None = None,
) -> UsageSession:
    """A session of `minutes` wall-clock time, running all of it unless told otherwise."""
    running = minutes if running_minutes is None else running_minutes
    return UsageSession(
        id=session_id or str(uuid.uuid4()),
        site=site,
        machine=machine,
        member=member,
        started_ms=epoch_ms(started),
        ended_ms=epoch_ms(started + timedelta(minutes=minutes)),
        unlocked_ms=round(minutes * 60_000),
        running_ms=round(running * 60_000),
        idle_ms=round((minutes - running) * 60_000),
        energy_mwh=round(kwh * 1_000_000),
    )


def member(
    member_id: str, *, joined: datetime | None = None, email: str | None = None
) -> MemberAccount:
    """A registered member, joined long ago unless told otherwise."""
    return MemberAccount(
        id=member_id,
        name=member_id.title(),
        email=email or f"{member_id}@example.org",
        joined_at=joined or datetime(2025, 1, 1, tzinfo=UTC),
    )
