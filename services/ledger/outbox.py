"""The webhook outbox: events written in the very transaction of what they report.

An event is announced only by the transaction that books what it tells (a session, a machine's
state, an issued statement), so a rollback takes it back and a commit keeps it however the
process ends afterwards. Each event is owed once to every active subscription that asked for
its type, as one delivery with an id of its own that receivers deduplicate by.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.orm import Session

from services.ledger.models import (
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionRow,
)

EVENTS = cast(Table, WebhookEventRow.__table__)
DELIVERIES = cast(Table, WebhookDeliveryRow.__table__)
SUBSCRIPTIONS = cast(Table, WebhookSubscriptionRow.__table__)


class EventType(StrEnum):
    """What a subscription may be told of; the reserved ones are not sent yet."""

    SESSION_CLOSED = "session.closed"
    MACHINE_STATE_CHANGED = "machine.state_changed"
    STATEMENT_ISSUED = "statement.issued"
    FAULT_REPORTED = "fault.reported"
    BOOKING_MADE = "booking.made"
    BOOKING_RELEASED = "booking.released"
    MAINTENANCE_DUE = "maintenance.due"


SENT = frozenset(
    {
        EventType.SESSION_CLOSED,
        EventType.MACHINE_STATE_CHANGED,
        EventType.STATEMENT_ISSUED,
        EventType.FAULT_REPORTED,
        EventType.MAINTENANCE_DUE,
        EventType.BOOKING_MADE,
        EventType.BOOKING_RELEASED,
    }
)
RESERVED = frozenset(EventType) - SENT


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event to announce: its type and its JSON body's fields."""

    type: EventType
    data: Mapping[str, object]


def announce(db: Connection | Session, events: Sequence[OutboxEvent], now: datetime) -> int:
    """Write events and their deliveries on the caller's transaction; how many deliveries."""
    if not events:
        return 0
    rows = db.execute(
        select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.events).where(SUBSCRIPTIONS.c.active)
    ).all()
    wanted = {sub_id: frozenset(types.split()) for sub_id, types in rows}
    deliveries: list[dict[str, object]] = []
    for event in events:
        targets = [sub_id for sub_id, types in wanted.items() if event.type.value in types]
        if not targets:
            continue
        body = json.dumps(
            {"type": event.type.value, "at": now.isoformat(), "data": dict(event.data)},
            sort_keys=True,
            default=str,
        )
        event_id = db.execute(
            insert(EVENTS)
            .values(type=event.type.value, body=body, created_at=now)
            .returning(EVENTS.c.id)
        ).scalar_one()
        deliveries += [
            {
                "id": str(uuid.uuid4()),
                "event_id": event_id,
                "subscription_id": sub_id,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for sub_id in targets
        ]
    if deliveries:
        db.execute(insert(DELIVERIES), deliveries)
    return len(deliveries)
