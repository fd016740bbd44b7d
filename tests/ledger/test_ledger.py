"""The ledger books each session, badge and state once, however often it arrives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from contract import BadgeDecision, MachineState
from services.ledger import Bookings, MachineEvent, SessionBook, SiteSession
from tests.ingest.examples import CARD, MACHINE, MEMBER, SITE, T0, badge, session_record
from tests.ingest.examples import state_change as change


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[SessionBook]:
    """A freshly migrated ledger on SQLite and on PostgreSQL."""
    opened = SessionBook.open(ledger_url)
    try:
        yield opened
    finally:
        opened.close()


def test_booking_a_session_twice_keeps_one_row_counted_twice(ledger: SessionBook) -> None:
    record = session_record()

    assert ledger.book_session(SITE, record) is True
    assert ledger.book_session(SITE, record) is False

    [booked] = ledger.sessions()
    assert booked.id == record.id
    assert booked.deliveries == 2


def test_a_redelivery_changes_nothing_but_the_delivery_count(ledger: SessionBook) -> None:
    record = session_record()
    ledger.book_session(SITE, record)
    altered = record.model_copy(update={"energy_wh": 9999.0, "member": "someone-else"})

    assert ledger.book_session(SITE, altered) is False

    [booked] = ledger.sessions()
    assert (booked.energy_wh, booked.member, booked.deliveries) == (1200.0, MEMBER, 2)


def test_a_batch_books_each_session_once_and_counts_every_delivery(ledger: SessionBook) -> None:
    early, twice, once = (session_record(start=T0 + n * 60_000) for n in range(3))
    ledger.book_session(SITE, early)
    arrivals = [early, twice, twice, once, early]

    result = ledger.book(Bookings(sessions=[SiteSession(SITE, record) for record in arrivals]))

    assert result.new_sessions == {twice.id, once.id}
    assert result.repeated_sessions == 3
    booked = {row.id: row.deliveries for row in ledger.sessions()}
    assert booked == {early.id: 3, twice.id: 2, once.id: 1}


def test_a_booked_session_reads_back_as_sent_with_utc_times(ledger: SessionBook) -> None:
    record = session_record()
    ledger.book_session(SITE, record)

    [booked] = ledger.sessions()

    assert booked.site == SITE
    assert booked.machine == MACHINE
    assert booked.card_hash == CARD
    assert booked.started == datetime(2026, 1, 1, tzinfo=UTC)
    assert booked.ended == datetime(2026, 1, 1, 0, 20, tzinfo=UTC)
    assert booked.started.utcoffset() is not None
    assert (booked.unlocked_s, booked.running_s, booked.idle_s) == (1200.0, 900.0, 240.0)
    assert booked.end_reason == "badge_out"
    assert booked.clock_ok is True
    assert booked.received_at.tzinfo is not None


def test_sessions_can_be_read_per_machine_and_per_member(ledger: SessionBook) -> None:
    ledger.book_session(SITE, session_record(machine="lathe-1", member="giulia"))
    ledger.book_session(SITE, session_record(machine="laser-2", member="giulia", start=T0 + 1))
    ledger.book_session(SITE, session_record(machine="laser-2", member="marco", start=T0 + 2))

    assert [s.member for s in ledger.sessions(machine="laser-2")] == ["giulia", "marco"]
    assert [s.machine for s in ledger.sessions(member="giulia")] == ["lathe-1", "laser-2"]
    assert len(ledger.sessions(machine="laser-2", member="marco")) == 1
    assert ledger.sessions(machine="cnc-9") == []


def test_a_badge_event_is_booked_once(ledger: SessionBook) -> None:
    denied = badge(BadgeDecision.DENIED)

    assert ledger.book_badge(SITE, MACHINE, denied) is True
    assert ledger.book_badge(SITE, MACHINE, denied) is False

    [event] = ledger.badges()
    assert (event.decision, event.reason, event.member) == ("denied", "not qualified", None)
    assert event.at == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_batch_of_badges_with_and_without_a_member_books_each_once(ledger: SessionBook) -> None:
    granted = badge(BadgeDecision.GRANTED, ts=T0)
    denied = badge(BadgeDecision.DENIED, ts=T0 + 1000)
    ledger.book_badge(SITE, MACHINE, granted)
    arrivals = [granted, denied, denied]

    result = ledger.book(Bookings(badges=[MachineEvent(SITE, MACHINE, b) for b in arrivals]))

    assert (result.new_badges, result.repeated_badges) == (1, 2)
    events = [(event.id, event.member) for event in ledger.badges()]
    assert events == [(granted.id, MEMBER), (denied.id, None)]


def test_the_latest_state_wins_even_when_an_older_one_arrives_late(ledger: SessionBook) -> None:
    session = str(uuid.uuid4())
    running = change(MachineState.RUNNING, since=T0 + 60_000, session=session)
    unlocked = change(MachineState.UNLOCKED, since=T0, session=session)

    assert ledger.record_state(SITE, MACHINE, running) is True
    assert ledger.record_state(SITE, MACHINE, unlocked) is False

    stored = ledger.machine_state(SITE, MACHINE)
    assert stored is not None
    assert (stored.state, stored.session, stored.member) == ("running", session, MEMBER)
    assert stored.since == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)


def test_a_newer_state_replaces_the_stored_one(ledger: SessionBook) -> None:
    ledger.record_state(SITE, MACHINE, change(MachineState.RUNNING, since=T0, session=None))
    ledger.record_state(SITE, MACHINE, change(MachineState.LOCKED, since=T0 + 1))

    [stored] = ledger.machine_states()
    assert (stored.state, stored.session) == ("locked", None)


def test_a_dead_letter_keeps_the_raw_bytes_and_the_field(ledger: SessionBook) -> None:
    raw = b"\xff\xfe not json \x00"
    topic = f"officina/v1/{SITE}/machines/{MACHINE}/telemetry"

    ledger.dead_letter(topic, raw, "invalid payload: (root): Invalid JSON", field="(root)")
    ledger.dead_letter(topic, b"{}", "invalid payload: id: Field required", field="id")

    newest, oldest = ledger.dead_letters()
    assert (oldest.raw, oldest.field, oldest.topic) == (raw, "(root)", topic)
    assert newest.field == "id"
    assert "Field required" in newest.error
