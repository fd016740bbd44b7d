"""Maintenance in the ledger: tasks due by running hours or days, faults, sign-off, the log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from contract import EndReason, SessionRecord
from services.ledger import MachineSpec, Registry, RegistryError, SessionBook, WebhookEventRow
from services.ledger.maintenance import Maintenance, TaskSpec
from services.ledger.outbox import EventType
from services.webhooks.store import WebhookStore

SITE = "officina-1"
LATHE = MachineSpec(
    site=SITE, id="lathe-1", name="Tornio", gateway="gw-1", idle_amps=0.8, run_amps=4.0
)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Shop:
    """A ledger with a lathe, its maintenance, and a hand-moved clock."""

    book: SessionBook
    maintenance: Maintenance
    clock: Clock

    def run(self, hours: float) -> None:
        """Book a session that ran the lathe `hours`, ending now."""
        ended = int(self.clock.now.timestamp() * 1000)
        running_s = hours * 3600
        record = SessionRecord(
            id=str(uuid.uuid4()),
            ts=ended,
            machine="lathe-1",
            member="giulia",
            card="cd" * 32,
            started=ended - int(running_s * 1000),
            ended=ended,
            unlocked_s=running_s,
            running_s=running_s,
            idle_s=0.0,
            energy_wh=10.0,
            end_reason=EndReason.BADGE_OUT,
            clock_ok=True,
        )
        self.book.book_session(SITE, record)

    def events(self) -> list[dict[str, object]]:
        """The outbox's events, oldest first."""
        with self.book.engine.connect() as db:
            bodies = db.scalars(select(WebhookEventRow.body).order_by(WebhookEventRow.id))
            return [json.loads(body) for body in bodies]


@pytest.fixture
def shop(ledger_url: str) -> Iterator[Shop]:
    """A fresh ledger on SQLite and PostgreSQL, subscribed to maintenance events."""
    book = SessionBook.open(ledger_url)
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    try:
        registry = Registry(book.engine, clock=clock)
        registry.add_member(member_id="giulia", name="Giulia R.")
        registry.save_machine(LATHE)
        WebhookStore(book.engine).subscribe(
            "https://example.org/hook",
            [EventType.MAINTENANCE_DUE, EventType.FAULT_REPORTED],
            by="coord",
            now=clock.now,
        )
        yield Shop(book, Maintenance(book.engine, clock=clock), clock)
    finally:
        book.close()


def test_a_critical_task_past_its_running_hours_puts_the_machine_out_of_order_once(
    shop: Shop,
) -> None:
    task = shop.maintenance.add_task(
        SITE, "lathe-1", TaskSpec(title="oil change", every_running_h=2, critical=True), by="c"
    )
    shop.clock.now += timedelta(minutes=5)
    shop.run(1.5)
    assert shop.maintenance.refresh(SITE) == set()
    assert shop.maintenance.out_of_order(SITE) == {}
    shop.clock.now += timedelta(minutes=5)
    shop.run(0.5)
    assert shop.maintenance.refresh(SITE) == {"lathe-1"}
    assert shop.maintenance.out_of_order(SITE) == {"lathe-1": "service due: oil change"}
    # Found due once, announced once.
    assert shop.maintenance.refresh(SITE) == set()
    [due] = [e for e in shop.events() if e["type"] == "maintenance.due"]
    assert due["data"] == {
        "task": task.id,
        "site": SITE,
        "machine": "lathe-1",
        "title": "oil change",
        "critical": True,
    }

    shop.clock.now += timedelta(minutes=5)
    entry = shop.maintenance.sign_off(SITE, "lathe-1", task.id, by="coord", parts="2 l oil")
    assert entry is not None and (entry.what, entry.parts) == ("oil change", "2 l oil")
    assert shop.maintenance.out_of_order(SITE) == {}
    [state] = shop.maintenance.tasks(SITE, "lathe-1")
    assert (state.running_s, state.due) == (0.0, False)


def test_a_task_by_days_comes_due_with_the_calendar_and_a_plain_one_stops_nothing(
    shop: Shop,
) -> None:
    spec = TaskSpec(title="belt check", every_days=30)
    shop.maintenance.add_task(SITE, "lathe-1", spec, by="coord")
    shop.clock.now += timedelta(days=29)
    assert not shop.maintenance.tasks(SITE)[0].due
    shop.clock.now += timedelta(days=1)
    assert shop.maintenance.tasks(SITE)[0].due
    assert shop.maintenance.refresh(SITE) == set()  # not critical: the lathe still runs
    assert shop.maintenance.tasks(SITE)[0].task.due_since == shop.clock.now


def test_a_fault_puts_the_machine_out_of_order_until_it_is_closed(shop: Shop) -> None:
    fault = shop.maintenance.report_fault(SITE, "lathe-1", "chuck wobbles", by="giulia")
    assert shop.maintenance.out_of_order(SITE) == {"lathe-1": "fault reported"}
    assert [e["type"] for e in shop.events()] == ["fault.reported"]
    entry = shop.maintenance.close_fault(SITE, "lathe-1", fault.id, by="coord", notes="tightened")
    assert entry is not None and entry.what == "fault: chuck wobbles"
    assert shop.maintenance.out_of_order(SITE) == {}
    assert shop.maintenance.close_fault(SITE, "lathe-1", fault.id, by="coord") is None
    assert [e.fault_id for e in shop.maintenance.service_log(SITE, "lathe-1")] == [fault.id]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"title": " "}, "title"),
        ({"title": "oil"}, "every_running_h"),
        ({"title": "oil", "every_running_h": 0.0}, "every_running_h"),
        ({"title": "oil", "every_running_h": float("nan")}, "every_running_h"),
        ({"title": "oil", "every_days": 0}, "every_days"),
    ],
)
def test_a_task_that_could_never_come_due_is_refused_naming_the_field(
    spec: dict[str, object], field: str
) -> None:
    with pytest.raises(RegistryError) as refused:
        TaskSpec(**spec)  # type: ignore[arg-type]
    assert refused.value.field == field
