"""Usage per local day, read from a real ledger: midnight and clock changes split right."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from contract import EndReason, SessionRecord
from services.api.usage_days import MonthUsage, usage_by_day
from services.billing.months import Month, MonthWindow
from services.ledger import Bookings, SessionBook, SiteSession

ROME = ZoneInfo("Europe/Rome")
SITE = "bottega"
HOUR = 3600.0


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[SessionBook]:
    """A freshly migrated ledger, on SQLite and on PostgreSQL."""
    opened = SessionBook.open(ledger_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def sqlite_ledger(sqlite_url: str) -> Iterator[SessionBook]:
    """A freshly migrated SQLite ledger, for the many examples of a property."""
    opened = SessionBook.open(sqlite_url)
    try:
        yield opened
    finally:
        opened.close()


def _session(
    started: datetime,
    ended: datetime,
    *,
    busy: float = 1.0,
    watts: float = 1000.0,
    machine: str = "lathe-1",
    member: str = "giulia",
) -> SessionRecord:
    """A session unlocked for its whole span, running for `busy` of it, drawing `watts`."""
    # In UTC: two times of one zone subtract on the wall clock, blind to a clock change.
    started, ended = started.astimezone(UTC), ended.astimezone(UTC)
    span_s = (ended - started).total_seconds()
    started_ms = int(started.timestamp() * 1000)
    ended_ms = int(ended.timestamp() * 1000)
    return SessionRecord(
        id=str(uuid.uuid4()),
        ts=ended_ms,
        machine=machine,
        member=member,
        card="cd" * 32,
        started=started_ms,
        ended=ended_ms,
        unlocked_s=span_s,
        running_s=span_s * busy,
        idle_s=span_s * (1 - busy),
        energy_wh=watts * span_s / HOUR,
        end_reason=EndReason.BADGE_OUT,
        clock_ok=True,
    )


def _book(ledger: SessionBook, site: str, *records: SessionRecord) -> None:
    ledger.book(Bookings(sessions=[SiteSession(site, record) for record in records]))


def _usage(ledger: SessionBook, site: str, month: Month, **only: str) -> MonthUsage:
    with Session(ledger.engine) as db:
        return usage_by_day(db, site, MonthWindow(month, ROME), **only)


def _local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ROME)


def test_a_session_over_midnight_is_shared_between_its_two_days(ledger: SessionBook) -> None:
    # 22:00 to 02:00 local: half the session on the 10th, half on the 11th.
    _book(ledger, SITE, _session(_local(2026, 3, 10, 22), _local(2026, 3, 11, 2), busy=0.75))

    usage = _usage(ledger, SITE, Month(2026, 3))

    day_10, day_11 = usage.days[9], usage.days[10]
    assert (day_10.day.day, day_11.day.day) == (10, 11)
    assert day_10.unlocked_s == pytest.approx(2 * HOUR) and day_11.unlocked_s == pytest.approx(
        2 * HOUR
    )
    assert day_10.running_s == pytest.approx(1.5 * HOUR) and day_11.running_s == pytest.approx(
        1.5 * HOUR
    )
    assert day_10.energy_wh == pytest.approx(2000) and day_11.energy_wh == pytest.approx(2000)
    assert sum(1 for d in usage.days if d.unlocked_s) == 2
    assert usage.unlocked_s == pytest.approx(4 * HOUR)


@pytest.mark.parametrize(
    ("month", "short_or_long", "hours"),
    [(Month(2026, 3), 29, 23.0), (Month(2026, 10), 25, 25.0)],
    ids=["spring-forward", "fall-back"],
)
def test_the_days_the_clocks_change_hold_23_and_25_hours(
    ledger: SessionBook, month: Month, short_or_long: int, hours: float
) -> None:
    # Unlocked from local midnight of the day before to local midnight of the day after.
    day = _local(month.year, month.month, short_or_long)
    _book(ledger, SITE, _session(day - timedelta(days=1), day + timedelta(days=2)))

    usage = _usage(ledger, SITE, month)

    held = [d.unlocked_s / HOUR for d in usage.days[short_or_long - 2 : short_or_long + 1]]
    assert held == pytest.approx([24.0, hours, 24.0])
    assert usage.unlocked_s / HOUR == pytest.approx(48.0 + hours)


def test_a_session_across_the_months_end_counts_in_each_month_for_its_part(
    ledger: SessionBook,
) -> None:
    _book(ledger, SITE, _session(_local(2026, 4, 30, 21), _local(2026, 5, 1, 3)))

    april, may = _usage(ledger, SITE, Month(2026, 4)), _usage(ledger, SITE, Month(2026, 5))

    assert april.days[-1].unlocked_s == pytest.approx(3 * HOUR)
    assert may.days[0].unlocked_s == pytest.approx(3 * HOUR)
    assert april.energy_wh + may.energy_wh == pytest.approx(6000)


def test_a_machine_and_a_member_see_only_their_own_sessions(ledger: SessionBook) -> None:
    noon = _local(2026, 3, 5, 12)
    _book(
        ledger,
        SITE,
        _session(noon, noon + timedelta(hours=1), machine="lathe-1", member="giulia"),
        _session(noon, noon + timedelta(hours=2), machine="lathe-1", member="marco"),
        _session(noon, noon + timedelta(hours=4), machine="laser-1", member="giulia"),
    )
    _book(ledger, "another-site", _session(noon, noon + timedelta(hours=8)))

    def hours(**only: str) -> float:
        return _usage(ledger, SITE, Month(2026, 3), **only).days[4].unlocked_s / HOUR

    assert hours() == pytest.approx(7)
    assert hours(machine="lathe-1") == pytest.approx(3)
    assert hours(member="giulia") == pytest.approx(5)
    assert hours(machine="lathe-1", member="giulia") == pytest.approx(1)
    assert hours(machine="drill-1") == 0


# Sessions from February to late April 2026, the month the clocks go forward in between.
_FIRST = _local(2026, 2, 1).astimezone(UTC)
_LAST_START = _local(2026, 4, 28).astimezone(UTC)
_sessions = st.lists(
    st.tuples(
        st.integers(0, int((_LAST_START - _FIRST).total_seconds())),
        st.integers(0, 60 * 3600),
        st.floats(0, 1),
        st.floats(0, 5000),
    ),
    max_size=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spans=_sessions)
def test_the_days_of_the_months_add_up_to_the_sessions_totals(
    sqlite_ledger: SessionBook, spans: list[tuple[int, int, float, float]]
) -> None:
    ledger = sqlite_ledger
    site = f"site-{uuid.uuid4().hex[:8]}"  # each example on a floor of its own
    records = [
        _session(
            _FIRST + timedelta(seconds=offset),
            _FIRST + timedelta(seconds=offset + length),
            busy=busy,
            watts=watts,
        )
        for offset, length, busy, watts in spans
    ]
    _book(ledger, site, *records)
    months = [_usage(ledger, site, Month(2026, m)) for m in (2, 3, 4)]

    for usage in months:
        window = MonthWindow(usage.month, ROME)
        assert len(usage.days) == usage.month.days
        assert all(d.running_s >= 0 and d.energy_wh >= 0 for d in usage.days)
        # What each month holds is each session's share of time inside the month.
        assert math.isclose(
            usage.unlocked_s, sum(_inside(r, window) * r.unlocked_s for r in records), abs_tol=1e-3
        )
    for total in ("running_s", "unlocked_s", "energy_wh"):
        assert math.isclose(
            sum(getattr(u, total) for u in months),
            sum(getattr(r, total) for r in records),
            rel_tol=1e-9,
            abs_tol=1e-3,
        ), total


def _inside(record: SessionRecord, window: MonthWindow) -> float:
    """The part of a session's span that falls in the month (all of it for an instant inside)."""
    start_ms, end_ms = record.started, record.ended
    month_start = int(window.start.timestamp() * 1000)
    month_end = int(window.end.timestamp() * 1000)
    if end_ms == start_ms:
        return 1.0 if month_start <= start_ms < month_end else 0.0
    overlap = min(end_ms, month_end) - max(start_ms, month_start)
    return max(overlap, 0) / (end_ms - start_ms)
