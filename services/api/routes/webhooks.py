"""`/webhooks`: subscriptions of other systems to the workshop's events, and their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from services.api.deps import StaffUser, StateDep
from services.api.schemas.common import MAX_ROW_ID
from services.api.schemas.webhooks import (
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
)
from services.api.state import ApiState
from services.ledger.models import WebhookSubscriptionRow
from services.ledger.outbox import EventType
from services.webhooks.store import DeliveryView, WebhookStore
from services.webhooks.targets import TargetPolicy, check_target

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
DeliveryId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


def webhook_store(state: ApiState) -> WebhookStore:
    """The webhooks' rows in the api's ledger."""
    return WebhookStore(state.engine)


def target_policy(state: ApiState) -> TargetPolicy:
    """Which addresses a target may resolve to, as the api's settings say."""
    return TargetPolicy(
        allow_loopback=state.settings.webhooks_allow_loopback,
        allow_link_local=state.settings.webhooks_allow_link_local,
    )


def subscribe(state: ApiState, url: str, events: list[str], by: str) -> WebhookSubscriptionRow:
    """Check the target and make the subscription (TargetRefusedError names the field)."""
    check_target(url, target_policy(state))
    types = [EventType(value) for value in events]
    return webhook_store(state).subscribe(url, types, by=by, now=state.clock())


def public(row: WebhookSubscriptionRow, counts: dict[str, int]) -> WebhookPublic:
    """A subscription without its secret."""
    return WebhookPublic(
        id=row.id,
        url=row.url,
        events=row.events.split(),
        created_at=row.created_at,
        created_by=row.created_by,
        deliveries=counts,
    )


def delivery_public(view: DeliveryView) -> DeliveryPublic:
    """A delivery as the api shows it."""
    return DeliveryPublic(
        id=view.id,
        event=view.event_type,
        event_id=view.event_id,
        status=view.status,
        attempts=view.attempts,
        next_attempt_at=view.next_attempt_at,
        last_status=view.last_status,
        last_error=view.last_error,
        delivered_at=view.delivered_at,
    )


@router.get("")
def list_webhooks(staff: StaffUser, state: StateDep) -> list[WebhookPublic]:
    """Active subscriptions, with their deliveries counted by status."""
    store = webhook_store(state)
    counts = store.counts()
    return [public(row, counts.get(row.id, {})) for row in store.subscriptions()]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_webhook(body: WebhookCreate, staff: StaffUser, state: StateDep) -> WebhookCreated:
    """Subscribe a target; the answer carries its secret, which is never shown again."""
    row = subscribe(state, body.url, body.events, staff.username)
    return WebhookCreated(**public(row, {}).model_dump(), secret=row.secret)


def _found(state: ApiState, subscription_id: int) -> WebhookSubscriptionRow:
    row = webhook_store(state).subscription(subscription_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such webhook")
    return row


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(subscription_id: SubscriptionId, staff: StaffUser, state: StateDep) -> None:
    """Stop a subscription; what was delivered stays on record."""
    if not webhook_store(state).unsubscribe(subscription_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such webhook")


@router.get("/{subscription_id}/deliveries")
def list_deliveries(
    subscription_id: SubscriptionId, staff: StaffUser, state: StateDep
) -> list[DeliveryPublic]:
    """A subscription's latest deliveries, newest first, with their status and last error."""
    _found(state, subscription_id)
    return [delivery_public(v) for v in webhook_store(state).deliveries(subscription_id)]


@router.post("/deliveries/{delivery_id}/replay", status_code=status.HTTP_202_ACCEPTED)
def replay_delivery(delivery_id: DeliveryId, staff: StaffUser, state: StateDep) -> DeliveryPublic:
    """Send a delivery again under its own id, from a fresh count of attempts."""
    store = webhook_store(state)
    if not store.replay(delivery_id, now=state.clock()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such delivery")
    return delivery_public(store.delivery(delivery_id))
