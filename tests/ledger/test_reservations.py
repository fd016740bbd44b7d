"""Machine bookings: rules checked in one place, conflicts refused with the reason, races."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ledger import MachineSpec, Registry, SessionBook
from services.ledger.models import WebhookEventRow, WebhookSubscriptionRow
from services.ledger.opening import OpeningHours
from services.ledger.reservations import (
    BookingRefusedError,
    BookingRules,
    BookingStatus,
    Refusal,
    Reservations,
)
from tests.ingest.examples import SITE

ROME = ZoneInfo("Europe/Rome")
# A Monday, 08:00 in Rome.
NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
LASER = MachineSpec(
    site=SITE, id="laser-1", name="Laser", gateway="gw-1", idle_amps=0.5, run_amps=2.0
)
RULES = BookingRules(
    site=SITE,
    machine="laser-1",
    slot_minutes=30,
    horizon_days=7,
    max_open=2,
    notice_minutes=60,
    hours_text="mon-fri 09:00-18:00; sat 09:00-13:00",
    closures_text="2026-11-04",
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in Rome in November 2026, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ROME).astimezone(UTC)


@pytest.fixture
def reservations(ledger_url: str) -> Iterator[Reservations]:
    """Bookings on a fresh ledger (SQLite and PostgreSQL) with a bookable laser."""
    ledger = SessionBook.open(ledger_url)
    try:
        registry = Registry(ledger.engine, clock=lambda: NOW)
        for member in ("giulia", "marco", "anna"):
            registry.add_member(member_id=member, name=member.title())
        registry.save_machine(LASER)
        for member in ("giulia", "marco"):
            registry.qualify(member=member, site=SITE, machine="laser-1")
        booked = Reservations(ledger.engine, zone=ROME, clock=lambda: NOW)
        booked.save_rules(RULES)
        yield booked
    finally:
        ledger.close()


def book(reservations: Reservations, member: str, start: datetime, minutes: int = 30) -> None:
    """Book the laser for a member."""
    reservations.book(
        site=SITE,
        machine="laser-1",
        member=member,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        by=member,
    )


@pytest.mark.parametrize(
    ("member", "start", "minutes", "reason"),
    [
        ("giulia", at(2, 10, 10), 30, Refusal.SLOT),
        ("giulia", at(2, 10), 20, Refusal.SLOT),
        ("giulia", at(2, 7), 30, Refusal.PAST),
        ("giulia", at(20, 10), 30, Refusal.TOO_FAR),
        ("giulia", at(2, 8), 60, Refusal.CLOSED),
        ("giulia", at(2, 17, 30), 60, Refusal.CLOSED),
        ("giulia", at(4, 10), 30, Refusal.CLOSED),
        ("giulia", at(8, 10), 30, Refusal.CLOSED),
        ("anna", at(2, 10), 30, Refusal.NOT_QUALIFIED),
    ],
)
def test_a_booking_against_the_rules_is_refused_with_the_reason(
    reservations: Reservations, member: str, start: datetime, minutes: int, reason: Refusal
) -> None:
    with pytest.raises(BookingRefusedError) as refused:
        book(reservations, member, start, minutes)
    assert refused.value.reason is reason


def test_an_overlapping_booking_and_one_too_many_are_refused(reservations: Reservations) -> None:
    book(reservations, "giulia", at(2, 10), 60)
    with pytest.raises(BookingRefusedError, match="overlap"):
        book(reservations, "marco", at(2, 10, 30))
    book(reservations, "giulia", at(3, 10))
    with pytest.raises(BookingRefusedError, match="too_many"):
        book(reservations, "giulia", at(5, 10))
    book(reservations, "marco", at(2, 11))  # right after hers: no overlap


def test_a_member_cancels_with_notice_and_staff_at_any_time(reservations: Reservations) -> None:
    book(reservations, "giulia", NOW + timedelta(hours=2))
    book(reservations, "marco", NOW + timedelta(hours=2, minutes=30))
    giulia, marco = reservations.between(site=SITE, start=NOW, end=NOW + timedelta(days=1))
    assert (
        reservations.cancel(giulia.id, by="giulia", staff=False).status is BookingStatus.CANCELLED
    )
    late = Reservations(reservations.engine, zone=ROME, clock=lambda: marco.starts_at)
    with pytest.raises(BookingRefusedError, match="notice"):
        late.cancel(marco.id, by="marco", staff=False)
    assert late.cancel(marco.id, by="coordinator", staff=True).status is BookingStatus.CANCELLED


def test_a_booking_nobody_badged_for_becomes_a_no_show_after_the_grace(
    reservations: Reservations,
) -> None:
    book(reservations, "giulia", NOW + timedelta(hours=2))
    (booking,) = reservations.between(site=SITE, start=NOW, end=NOW + timedelta(days=1))
    during = Reservations(
        reservations.engine, zone=ROME, clock=lambda: booking.starts_at + timedelta(minutes=5)
    )
    assert during.settle() == []
    after = Reservations(
        reservations.engine, zone=ROME, clock=lambda: booking.starts_at + timedelta(minutes=16)
    )
    (settled,) = after.settle()
    assert settled.status is BookingStatus.NO_SHOW


def test_bookings_are_announced_on_the_webhook_outbox(reservations: Reservations) -> None:
    with Session(reservations.engine) as db, db.begin():
        db.add(
            WebhookSubscriptionRow(
                url="https://hooks.example/in",
                secret="s" * 32,
                events="booking.made booking.released",
                active=True,
                created_at=NOW,
            )
        )
    book(reservations, "giulia", at(2, 10))
    (booking,) = reservations.between(site=SITE, start=NOW, end=NOW + timedelta(days=1))
    reservations.cancel(booking.id, by="giulia", staff=False)
    with Session(reservations.engine) as db:
        types = db.scalars(select(WebhookEventRow.type).order_by(WebhookEventRow.id)).all()
    assert types == ["booking.made", "booking.released"]


def test_two_members_booking_the_same_slot_at_once_one_wins_the_other_is_told(
    reservations: Reservations,
) -> None:
    start = at(2, 15)
    outcomes: dict[str, str] = {}
    ready = threading.Barrier(2)

    def try_booking(member: str) -> None:
        ready.wait()
        try:
            book(reservations, member, start)
            outcomes[member] = "booked"
        except BookingRefusedError as refused:
            outcomes[member] = refused.reason

    threads = [threading.Thread(target=try_booking, args=(m,)) for m in ("giulia", "marco")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes.values()) == ["booked", "overlap"]
    (booking,) = reservations.between(site=SITE, start=start, end=start + timedelta(hours=1))
    assert outcomes[booking.member] == "booked"


def test_opening_hours_become_utc_windows_across_a_change_of_time() -> None:
    hours = OpeningHours.parse("sun 00:00-24:00", "")
    # 2026-10-25 is the Sunday Rome leaves summer time: the day lasts 25 hours.
    start = datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
    (window,) = hours.windows(start, start + timedelta(days=3), ROME)
    assert window[1] - window[0] == timedelta(hours=25)
    assert window[0].astimezone(ROME).date() == date(2026, 10, 25)
