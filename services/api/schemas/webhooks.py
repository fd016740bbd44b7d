"""Webhook subscriptions: a target URL and the event types it is told of."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.ledger.outbox import RESERVED, EventType
from services.webhooks.targets import MAX_URL_LENGTH

TargetUrl = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)]


class WebhookCreate(BaseModel):
    """A new subscription: where to POST, and which events."""

    model_config = ConfigDict(extra="forbid")

    url: TargetUrl
    events: Annotated[list[str], Field(min_length=1, max_length=len(EventType))]

    @field_validator("events")
    @classmethod
    def _sent_event_types(cls, values: list[str]) -> list[str]:
        for value in values:
            if value not in set(EventType):
                raise ValueError(
                    "unknown event type; one of: " + ", ".join(e.value for e in EventType)
                )
            if EventType(value) in RESERVED:
                raise ValueError("this event type is reserved for later and not sent yet")
        return values


class WebhookPublic(BaseModel):
    """A subscription as listed: never its secret."""

    id: int
    url: str
    events: list[str]
    created_at: datetime
    created_by: str | None
    deliveries: dict[str, int]


class WebhookCreated(WebhookPublic):
    """A subscription just made: the secret, shown this once."""

    secret: str


class DeliveryPublic(BaseModel):
    """One event owed to a subscription, and how its delivery went."""

    id: str
    event: str
    event_id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
