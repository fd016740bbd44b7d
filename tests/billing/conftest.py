"""Billing tests: a real ledger (SQLite and PostgreSQL), registered members and booked sessions."""

from __future__ import annotations

import email
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from typing import Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller

from contract import EndReason, SessionRecord, card_hash
from harness.ports import free_port
from services.billing.service import Billing
from services.billing.settings import BillingSettings, Workshop
from services.billing.store import BillingLedger
from services.ledger import Registry, ReviewQueue, SessionBook
from tests.billing.examples import SITE

CARD = card_hash("04A1B2C3", b"billing test secret")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Shop(NamedTuple):
    """One workshop's ledger, seen by ingest (sessions), the registry and billing."""

    sessions: SessionBook
    registry: Registry
    billing: Billing
    clock: Clock


def book(
    shop: Shop,
    member: str,
    started: datetime,
    *,
    minutes: float,
    running_minutes: float | None = None,
    kwh: float = 0.0,
    machine: str = "laser-1",
    card: str = CARD,
) -> str:
    """Book a closed session through ingest's own path (badged with `card`); returns its id."""
    running = minutes if running_minutes is None else running_minutes
    start_ms = int((started - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))
    end_ms = start_ms + round(minutes * 60_000)
    record = SessionRecord(
        id=str(uuid.uuid4()),
        ts=end_ms,
        machine=machine,
        member=member,
        card=card,
        started=start_ms,
        ended=end_ms,
        unlocked_s=minutes * 60,
        running_s=running * 60,
        idle_s=(minutes - running) * 60,
        energy_wh=kwh * 1000,
        end_reason=EndReason.BADGE_OUT,
        clock_ok=True,
    )
    assert shop.sessions.book_session(SITE, record)
    return record.id


def join(shop: Shop, member: str, *, at: datetime | None = None, email: str | None = None) -> None:
    """Register a member, joined at a moment (long ago by default), and release what was held."""
    registry = Registry(shop.registry.engine, clock=lambda: at or datetime(2025, 1, 1, tzinfo=UTC))
    registry.add_member(
        member_id=member, name=member.title(), email=email or f"{member}@example.org"
    )
    # Sessions booked before the member was registered wait for a coordinator, as in a workshop.
    queue = ReviewQueue(shop.registry.engine)
    for held in queue.held():
        if held.member == member:
            queue.release(held.session_id, by="coordinator")


@pytest.fixture
def shop(ledger_url: str) -> Iterator[Shop]:
    """A fresh ledger with billing on it, once on SQLite and once on PostgreSQL."""
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    billing_ledger = BillingLedger.open(ledger_url, clock=clock)
    engine = billing_ledger.engine
    settings = BillingSettings(workshop=Workshop(name="Officina Comune", address=("Via Roma 1",)))
    try:
        yield Shop(
            SessionBook(engine),
            Registry(engine),
            Billing(billing_ledger, settings, terminal=False),
            clock,
        )
    finally:
        engine.dispose()


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free loopback port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
