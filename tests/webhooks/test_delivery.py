"""The outbox reaches a real HTTP receiver exactly once per delivery id, in order, signed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from contract import EndReason, MachineState, SessionRecord, StateChange
from services.ledger import Bookings, SessionBook, SiteSession, open_ledger
from services.ledger.bookings import book_all
from services.ledger.models import WebhookDeliveryRow, WebhookEventRow
from services.ledger.outbox import EventType
from services.webhooks.signing import verifies
from services.webhooks.store import WebhookStore
from services.webhooks.targets import TargetPolicy
from services.webhooks.worker import DeliveryWorker, WorkerOptions
from tests.waiting import eventually
from tests.webhooks.receiver import FAIL, HANG, Received, running_receiver

SITE = "officina-nord"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
LOOPBACK_ALLOWED = TargetPolicy(allow_loopback=True)
# Short enough that a hanging receiver times the attempt out at once.
OPTIONS = WorkerOptions(timeout_s=0.5, backoff_s=10.0, max_attempts=6, policy=LOOPBACK_ALLOWED)


class ManualClock:
    """A clock the test moves: backoffs pass without waiting for them."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move time on."""
        self.now += delta


@dataclass
class Ledger:
    """A migrated ledger, its session book and the webhook store."""

    engine: Engine
    book: SessionBook
    store: WebhookStore


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """A fresh ledger on SQLite and on PostgreSQL."""
    engine = open_ledger(ledger_url)
    yield Ledger(engine, SessionBook(engine), WebhookStore(engine))
    engine.dispose()


def session(minute: int, member: str = "giulia") -> SessionRecord:
    """A closed ten-minute session starting `minute` minutes after START."""
    started = int((START + timedelta(minutes=minute)).timestamp() * 1000)
    return SessionRecord(
        id=str(uuid.uuid4()),
        ts=started + 600_000,
        machine="lathe-1",
        member=member,
        card="cd" * 32,
        started=started,
        ended=started + 600_000,
        unlocked_s=600,
        running_s=400,
        idle_s=200,
        energy_wh=120,
        end_reason=EndReason.BADGE_OUT,
        clock_ok=True,
    )


def running_state(minute: int) -> StateChange:
    """Lathe-1 running since `minute` minutes after START."""
    since = int((START + timedelta(minutes=minute)).timestamp() * 1000)
    return StateChange(id=str(uuid.uuid4()), ts=since, state=MachineState.RUNNING, since=since)


def deliver_until_settled(
    worker: DeliveryWorker, store: WebhookStore, clock: ManualClock, rounds: int = 60
) -> None:
    """Run rounds, moving the clock past every backoff, until nothing is pending."""
    for _ in range(rounds):
        worker.deliver_due()
        clock.advance(timedelta(hours=2))
        if not store.heads():
            return
    pytest.fail("deliveries still pending after every backoff")


def delivery_count(engine: Engine) -> int:
    """How many deliveries the outbox holds."""
    with engine.connect() as connection:
        return len(connection.execute(select(WebhookDeliveryRow.id)).all())


def test_a_receiver_that_fails_then_recovers_gets_every_event_once_in_order(
    ledger: Ledger,
) -> None:
    with running_receiver([FAIL, FAIL, HANG, FAIL]) as receiver:
        sub = ledger.store.subscribe(
            receiver.url,
            [EventType.SESSION_CLOSED, EventType.MACHINE_STATE_CHANGED],
            by="admin",
            now=START,
        )
        first, second, third = session(0), session(20), session(40)
        ledger.book.book_session(SITE, first)
        ledger.book.record_state(SITE, "lathe-1", running_state(50))
        ledger.book.book(Bookings(sessions=[SiteSession(SITE, second), SiteSession(SITE, third)]))
        ledger.book.book_session(SITE, first)  # delivered again by the gateway: told once
        clock = ManualClock()
        worker = DeliveryWorker(ledger.store, OPTIONS, clock=clock, draw=random.Random(7).random)
        try:
            deliver_until_settled(worker, ledger.store, clock)
        finally:
            worker.close()
        owed = [row.id for row in ledger.store.deliveries(sub.id)][::-1]
        assert len(owed) == 4
        assert receiver.deduplicated() == owed
        assert len(receiver.accepted()) == 4  # nothing accepted was sent again
        assert [r.answered for r in receiver.received[:4]] == [FAIL, FAIL, HANG, FAIL]
        # Order per target: the first event was retried until it went, then the others.
        assert {r.delivery for r in receiver.received[:5]} == {owed[0]}
        assert receiver.signed_right(sub.secret)
        bodies = [json.loads(r.body) for r in receiver.accepted()]
        assert [b["type"] for b in bodies] == [
            "session.closed",
            "machine.state_changed",
            "session.closed",
            "session.closed",
        ]
        assert [b["data"]["id"] for b in bodies if b["type"] == "session.closed"] == [
            first.id,
            second.id,
            third.id,
        ]
        assert "card" not in bodies[0]["data"]
    views = ledger.store.deliveries(sub.id)
    assert {v.status for v in views} == {"delivered"}
    assert views[-1].attempts == 5


def test_the_signature_is_the_hmac_of_timestamp_and_body(ledger: Ledger) -> None:
    with running_receiver([]) as receiver:
        sub = ledger.store.subscribe(
            receiver.url, [EventType.SESSION_CLOSED], by="admin", now=START
        )
        ledger.book.book_session(SITE, session(0))
        worker = DeliveryWorker(ledger.store, OPTIONS)
        try:
            assert worker.deliver_due() == 1
        finally:
            worker.close()
        [got] = receiver.received
    assert verifies(sub.secret, got.timestamp, got.body, got.signature)
    assert not verifies(sub.secret, got.timestamp, got.body + b" ", got.signature)
    assert not verifies("another secret", got.timestamp, got.body, got.signature)
    assert got.event == "session.closed"


def test_an_event_is_written_only_if_its_booking_commits(ledger: Ledger) -> None:
    ledger.store.subscribe("http://127.0.0.1:9/", [EventType.SESSION_CLOSED], by="a", now=START)
    with pytest.raises(RuntimeError), ledger.engine.begin() as connection:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        book_all(connection, insert, Bookings(sessions=[SiteSession(SITE, session(0))]), START)
        raise RuntimeError("the process dies before the commit")
    with ledger.engine.connect() as connection:
        assert connection.execute(select(WebhookEventRow)).all() == []
    assert ledger.book.sessions() == []
    ledger.book.book_session(SITE, session(0))
    assert delivery_count(ledger.engine) == 1


def test_only_subscribed_types_are_owed_to_a_target(ledger: Ledger) -> None:
    states = ledger.store.subscribe(
        "http://127.0.0.1:9/a", [EventType.MACHINE_STATE_CHANGED], by="a", now=START
    )
    statements = ledger.store.subscribe(
        "http://127.0.0.1:9/b", [EventType.STATEMENT_ISSUED], by="a", now=START
    )
    ledger.book.book_session(SITE, session(0))
    ledger.book.record_state(SITE, "lathe-1", running_state(5))
    ledger.book.record_state(SITE, "lathe-1", running_state(1))  # older, arriving late: no change
    assert [v.event_type for v in ledger.store.deliveries(states.id)] == ["machine.state_changed"]
    assert ledger.store.deliveries(statements.id) == []


def test_a_refusal_fails_at_once_and_a_replay_sends_the_same_id(ledger: Ledger) -> None:
    with running_receiver([]) as receiver:
        sub = ledger.store.subscribe(receiver.url, [EventType.SESSION_CLOSED], by="a", now=START)
        ledger.book.book_session(SITE, session(0))
        clock = ManualClock()
        worker = DeliveryWorker(ledger.store, OPTIONS, clock=clock)
        receiver.script.append("404")
        try:
            worker.deliver_due()
            [view] = ledger.store.deliveries(sub.id)
            assert (view.status, view.attempts, view.last_status) == ("failed", 1, 404)
            assert view.last_error is not None and view.last_error.startswith("HTTP 404")
            assert ledger.store.replay(view.id, now=clock())
            assert worker.deliver_due() == 1
        finally:
            worker.close()
        assert [r.delivery for r in receiver.received] == [view.id, view.id]
    [after] = ledger.store.deliveries(sub.id)
    assert after.status == "delivered"


def test_408_and_429_are_retried_and_so_many_failures_fail_for_good(ledger: Ledger) -> None:
    # The older event gets 429, 408 and four 500s (six attempts); the newer one a 500, then 200.
    with running_receiver(["429", "408", *[FAIL] * 5]) as receiver:
        sub = ledger.store.subscribe(receiver.url, [EventType.SESSION_CLOSED], by="a", now=START)
        ledger.book.book_session(SITE, session(0))
        ledger.book.book_session(SITE, session(20))
        clock = ManualClock()
        worker = DeliveryWorker(ledger.store, OPTIONS, clock=clock)
        try:
            deliver_until_settled(worker, ledger.store, clock)
        finally:
            worker.close()
        newer, older = ledger.store.deliveries(sub.id)
        assert (older.status, older.attempts, older.last_status) == ("failed", 6, 500)
        # A delivery failed for good no longer holds back the target's next one.
        assert (newer.status, newer.attempts) == ("delivered", 2)
        assert receiver.deduplicated() == [newer.id]


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    options = WorkerOptions(backoff_s=10, max_backoff_s=60)
    assert options.backoff(1, lambda: 1.0) == timedelta(seconds=10)
    assert options.backoff(3, lambda: 1.0) == timedelta(seconds=40)
    assert options.backoff(9, lambda: 1.0) == timedelta(seconds=60)
    assert options.backoff(3, lambda: 0.0) == timedelta(seconds=20)


def test_a_worker_killed_between_send_and_mark_resends_under_the_same_id(
    ledger: Ledger, ledger_url: str
) -> None:
    daemon: list[subprocess.Popen[bytes]] = []

    def kill_the_worker(_item: Received) -> None:
        # The request has arrived; the worker dies before it can mark it delivered.
        if len(daemon) == 1 and daemon[0].poll() is None:
            os.kill(daemon[0].pid, signal.SIGKILL)
            daemon[0].wait()

    with running_receiver([]) as receiver:
        sub = ledger.store.subscribe(receiver.url, [EventType.SESSION_CLOSED], by="a", now=START)
        ledger.book.book_session(SITE, session(0))
        receiver.on_request = kill_the_worker
        command = [sys.executable, "-m", "officina", "webhooks", "run", "--ledger", ledger_url]
        daemon.append(subprocess.Popen([*command, "--allow-loopback"], stderr=subprocess.PIPE))
        try:
            eventually(lambda: daemon[0].poll() is not None, what="the worker to be killed")
        finally:
            if daemon[0].poll() is None:
                daemon[0].kill()
            daemon[0].wait()
        [view] = ledger.store.deliveries(sub.id)
        assert (view.status, view.attempts) == ("pending", 1)
        receiver.on_request = None
        clock = ManualClock()
        worker = DeliveryWorker(ledger.store, OPTIONS, clock=clock)
        try:
            assert worker.deliver_due() == 0  # its lease has not run out yet
            clock.advance(timedelta(hours=1))
            assert worker.deliver_due() == 1
        finally:
            worker.close()
        assert [r.delivery for r in receiver.received] == [view.id, view.id]
        assert receiver.deduplicated() == [view.id]
    [after] = ledger.store.deliveries(sub.id)
    assert (after.status, after.attempts) == ("delivered", 2)
