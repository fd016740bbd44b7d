"""The webhooks' rows in the ledger: subscriptions, the deliveries owed, and their outcomes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Select, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.ledger.models import WebhookDeliveryRow, WebhookEventRow, WebhookSubscriptionRow
from services.ledger.outbox import DeliveryStatus, EventType
from services.webhooks.signing import new_secret

# A subscription's page lists this many of its latest deliveries.
RECENT_DELIVERIES = 100


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery with what is sent: the event's type and body, the target and its secret."""

    id: str
    subscription_id: int
    url: str
    secret: str
    event_type: str
    body: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A delivery as the page and the api show it."""

    id: str
    event_type: str
    event_id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class WebhookStore:
    """Subscriptions and deliveries, each call one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._open_db = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._open_db.begin() as db:
            yield db

    def subscribe(
        self, url: str, events: Sequence[EventType], *, by: str | None, now: datetime
    ) -> WebhookSubscriptionRow:
        """Make a subscription with a fresh secret; the row carries the secret this once."""
        row = WebhookSubscriptionRow(
            url=url,
            secret=new_secret(),
            events=" ".join(dict.fromkeys(e.value for e in events)),
            active=True,
            created_at=now,
            created_by=by,
        )
        with self._transaction() as db:
            db.add(row)
            db.flush()
        return row

    def subscriptions(self) -> Sequence[WebhookSubscriptionRow]:
        """Every active subscription, oldest first."""
        query = select(WebhookSubscriptionRow).where(WebhookSubscriptionRow.active)
        with self._transaction() as db:
            return db.scalars(query.order_by(WebhookSubscriptionRow.id)).all()

    def subscription(self, subscription_id: int) -> WebhookSubscriptionRow | None:
        """One active subscription."""
        with self._transaction() as db:
            row = db.get(WebhookSubscriptionRow, subscription_id)
        return row if row is not None and row.active else None

    def unsubscribe(self, subscription_id: int) -> bool:
        """Stop a subscription; its deliveries stay for the record. False if there was none."""
        with self._transaction() as db:
            row = db.get(WebhookSubscriptionRow, subscription_id)
            if row is None or not row.active:
                return False
            row.active = False
        return True

    def counts(self) -> dict[int, dict[str, int]]:
        """Deliveries per subscription and status."""
        query = select(
            WebhookDeliveryRow.subscription_id, WebhookDeliveryRow.status, func.count()
        ).group_by(WebhookDeliveryRow.subscription_id, WebhookDeliveryRow.status)
        found: dict[int, dict[str, int]] = {}
        with self._transaction() as db:
            for sub_id, status, count in db.execute(query):
                found.setdefault(sub_id, {})[status] = count
        return found

    def deliveries(
        self, subscription_id: int, *, limit: int = RECENT_DELIVERIES
    ) -> list[DeliveryView]:
        """A subscription's latest deliveries, newest event first."""
        query = (
            _views()
            .where(WebhookDeliveryRow.subscription_id == subscription_id)
            .order_by(WebhookDeliveryRow.event_id.desc())
            .limit(limit)
        )
        with self._transaction() as db:
            return [_view(row, event_type) for row, event_type in db.execute(query)]

    def delivery(self, delivery_id: str) -> DeliveryView:
        """One delivery, which must exist."""
        with self._transaction() as db:
            row, event_type = db.execute(_views().where(WebhookDeliveryRow.id == delivery_id)).one()
        return _view(row, event_type)

    def replay(self, delivery_id: str, *, now: datetime) -> bool:
        """Send a delivery again (same id), from the first attempt; False if there is none."""
        with self._transaction() as db:
            row = db.get(WebhookDeliveryRow, delivery_id)
            if row is None:
                return False
            row.status = DeliveryStatus.PENDING.value
            row.attempts = 0
            row.next_attempt_at = now
        return True

    def heads(self) -> list[tuple[int, str, datetime]]:
        """Each active target's oldest pending delivery: (subscription, delivery, due)."""
        oldest = (
            select(
                WebhookDeliveryRow.subscription_id,
                func.min(WebhookDeliveryRow.event_id).label("event_id"),
            )
            .join(
                WebhookSubscriptionRow,
                WebhookSubscriptionRow.id == WebhookDeliveryRow.subscription_id,
            )
            .where(
                WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
                WebhookSubscriptionRow.active,
            )
            .group_by(WebhookDeliveryRow.subscription_id)
            .subquery()
        )
        query = select(
            WebhookDeliveryRow.subscription_id,
            WebhookDeliveryRow.id,
            WebhookDeliveryRow.next_attempt_at,
        ).join(
            oldest,
            (oldest.c.subscription_id == WebhookDeliveryRow.subscription_id)
            & (oldest.c.event_id == WebhookDeliveryRow.event_id),
        )
        with self._transaction() as db:
            return [(s, d, at) for s, d, at in db.execute(query.order_by(oldest.c.subscription_id))]

    def claim(self, delivery_id: str, *, now: datetime, lease_until: datetime) -> Delivery | None:
        """Take a due delivery for one attempt, until `lease_until`; None if another took it.

        Should the process die before the outcome is marked, the delivery is due again once the
        lease runs out, and is sent again under the same id.
        """
        with self._transaction() as db:
            taken = db.execute(
                update(WebhookDeliveryRow)
                .where(
                    WebhookDeliveryRow.id == delivery_id,
                    WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
                    WebhookDeliveryRow.next_attempt_at <= now,
                )
                .values(next_attempt_at=lease_until, attempts=WebhookDeliveryRow.attempts + 1)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = db.get_one(WebhookDeliveryRow, delivery_id)
            event = db.get_one(WebhookEventRow, row.event_id)
            target = db.get_one(WebhookSubscriptionRow, row.subscription_id)
            return Delivery(
                id=row.id,
                subscription_id=target.id,
                url=target.url,
                secret=target.secret,
                event_type=event.type,
                body=event.body.encode(),
                attempts=row.attempts,
            )

    def delivered(self, delivery_id: str, status_code: int, *, now: datetime) -> None:
        """Mark a delivery received by its target."""
        self._mark(
            delivery_id,
            status=DeliveryStatus.DELIVERED,
            last_status=status_code,
            last_error=None,
            delivered_at=now,
            next_attempt_at=now,
        )

    def retry_at(
        self, delivery_id: str, error: str, status_code: int | None, *, at: datetime
    ) -> None:
        """Mark an attempt failed; the delivery is due again at `at`."""
        self._mark(
            delivery_id,
            status=DeliveryStatus.PENDING,
            last_status=status_code,
            last_error=error,
            next_attempt_at=at,
        )

    def failed(self, delivery_id: str, error: str, status_code: int | None) -> None:
        """Mark a delivery failed for good: only a replay sends it again."""
        self._mark(
            delivery_id, status=DeliveryStatus.FAILED, last_status=status_code, last_error=error
        )

    def _mark(self, delivery_id: str, *, status: DeliveryStatus, **values: object) -> None:
        with self._transaction() as db:
            db.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.id == delivery_id)
                .values(status=status.value, **values)
            )


def lease_end(now: datetime, timeout_s: float) -> datetime:
    """When a claimed attempt counts as lost: well past the request's own timeout."""
    return now + timedelta(seconds=2 * timeout_s + 30)


def _views() -> Select[WebhookDeliveryRow, str]:
    return select(WebhookDeliveryRow, WebhookEventRow.type).join(
        WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id
    )


def _view(row: WebhookDeliveryRow, event_type: str) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        event_type=event_type,
        event_id=row.event_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status=row.last_status,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )
