"""Usage per local day of a month: running and unlocked seconds and energy, of a machine or member.

A session carries only its totals, so one that crosses midnight is shared between the days it
touches in proportion to the time it spent in each; a day is a local day of the site's zone,
23 or 25 hours long when the clocks change. A session is counted in a month for the part of it
that falls inside the month, so the days of consecutive months add up to the sessions' totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.months import Month, MonthWindow
from services.ledger import SessionRow


@dataclass(frozen=True, slots=True)
class DayUsage:
    """What was used on one local day."""

    day: date
    running_s: float = 0.0
    unlocked_s: float = 0.0
    energy_wh: float = 0.0


@dataclass(frozen=True, slots=True)
class MonthUsage:
    """What was used on each local day of a month, the 1st first."""

    month: Month
    days: tuple[DayUsage, ...]

    @property
    def running_s(self) -> float:
        """Running seconds over the month."""
        return sum(d.running_s for d in self.days)

    @property
    def unlocked_s(self) -> float:
        """Unlocked seconds over the month."""
        return sum(d.unlocked_s for d in self.days)

    @property
    def energy_wh(self) -> float:
        """Energy over the month, in Wh."""
        return sum(d.energy_wh for d in self.days)


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """A session's totals and when it took place."""

    started: datetime
    ended: datetime
    running_s: float
    unlocked_s: float
    energy_wh: float


def _day_shares(window: MonthWindow, started: datetime, ended: datetime) -> list[tuple[int, float]]:
    """Which days of the month a span touches, and the part of the span that fell on each."""
    bounds = (*window.day_starts, window.end)
    span = (ended - started).total_seconds()
    if span <= 0:
        # An instant: all of it on its day, if that day is in the month.
        if window.start <= started < window.end:
            return [((window.day_of(started) - window.month.first_day).days, 1.0)]
        return []
    shares = []
    for index in range(window.month.days):
        overlap = min(ended, bounds[index + 1]) - max(started, bounds[index])
        if overlap > timedelta(0):
            shares.append((index, overlap.total_seconds() / span))
    return shares


def spread_over_days(sessions: Iterable[SessionTotals], window: MonthWindow) -> MonthUsage:
    """Each session's totals shared out over the local days of the month it falls on."""
    running = [0.0] * window.month.days
    unlocked = [0.0] * window.month.days
    energy = [0.0] * window.month.days
    for session in sessions:
        for index, share in _day_shares(window, session.started, session.ended):
            running[index] += session.running_s * share
            unlocked[index] += session.unlocked_s * share
            energy[index] += session.energy_wh * share
    first = window.month.first_day
    return MonthUsage(
        month=window.month,
        days=tuple(
            DayUsage(
                day=first + timedelta(days=index),
                running_s=running[index],
                unlocked_s=unlocked[index],
                energy_wh=energy[index],
            )
            for index in range(window.month.days)
        ),
    )


def usage_by_day(
    db: Session,
    site: str,
    window: MonthWindow,
    *,
    machine: str | None = None,
    member: str | None = None,
) -> MonthUsage:
    """The site's usage on each local day of the month, of one machine and/or one member."""
    query = select(
        SessionRow.started,
        SessionRow.ended,
        SessionRow.running_s,
        SessionRow.unlocked_s,
        SessionRow.energy_wh,
    ).where(
        SessionRow.site == site,
        SessionRow.started < window.end,
        SessionRow.ended >= window.start,
    )
    if machine is not None:
        query = query.where(SessionRow.machine == machine)
    if member is not None:
        query = query.where(SessionRow.member == member)
    return spread_over_days((SessionTotals(*row) for row in db.execute(query)), window)
