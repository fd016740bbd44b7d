"""The delivery worker: sends each target its deliveries one at a time, oldest event first.

One attempt is: claim (a lease in the ledger), check the target's addresses, POST, mark the
outcome. A target's next delivery waits until the one before it is delivered or failed for good,
so each target sees its events in order. Failures, timeouts, 5xx, 408 and 429 are retried with
exponential backoff and jitter up to `max_attempts`; any other 4xx fails at once (the receiver
refused the event itself, and sending it again would not change its mind).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from services.webhooks.errors import TargetRefusedError
from services.webhooks.signing import signature
from services.webhooks.store import Delivery, WebhookStore, lease_end
from services.webhooks.targets import TargetPolicy, check_target

log = logging.getLogger(__name__)

RETRIED_4XX = frozenset({408, 429})
# The part of a receiver's refusal kept as the delivery's last error.
ERROR_KEEP_CHARS = 500


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    """How the worker sends and retries."""

    timeout_s: float = 10.0
    max_attempts: int = 8
    backoff_s: float = 10.0
    max_backoff_s: float = 3600.0
    # Between rounds with nothing due; a round that sent something is followed at once.
    poll_s: float = 1.0
    policy: TargetPolicy = field(default_factory=TargetPolicy)

    def backoff(self, attempts: int, draw: Callable[[], float]) -> timedelta:
        """The pause after the n-th failed attempt: doubling, capped, then jittered to 50-100 %."""
        full = min(self.max_backoff_s, self.backoff_s * 2 ** max(0, attempts - 1))
        return timedelta(seconds=full * (0.5 + draw() / 2))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    retry: bool = True


class DeliveryWorker:
    """Delivers the outbox to the subscriptions' targets."""

    def __init__(
        self,
        store: WebhookStore,
        options: WorkerOptions,
        *,
        clock: Callable[[], datetime] = _utc_now,
        draw: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._store = store
        self._options = options
        self._clock = clock
        self._draw = draw
        self._http = httpx.Client(
            timeout=options.timeout_s, follow_redirects=False, transport=transport
        )

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    def deliver_due(self) -> int:
        """One round: each target's oldest pending delivery, if due, is attempted once."""
        attempted = 0
        for _subscription, delivery_id, due in self._store.heads():
            now = self._clock()
            if due > now:
                continue
            delivery = self._store.claim(
                delivery_id, now=now, lease_until=lease_end(now, self._options.timeout_s)
            )
            if delivery is None:
                continue
            self._record(delivery, self._attempt(delivery))
            attempted += 1
        return attempted

    def run(self, stop: threading.Event, *, heartbeat: Path | None = None) -> None:
        """Deliver until `stop` is set; touch `heartbeat` after every round, for a healthcheck."""
        while not stop.is_set():
            try:
                attempted = self.deliver_due()
            except Exception:
                # The ledger away or a bug must not end delivery for good: the next round retries.
                log.exception("webhook delivery round failed")
                attempted = 0
            if heartbeat is not None:
                heartbeat.touch()
            if not attempted:
                stop.wait(self._options.poll_s)

    def _attempt(self, delivery: Delivery) -> Outcome:
        try:
            check_target(delivery.url, self._options.policy)
        except TargetRefusedError as err:
            return Outcome(False, error=str(err))
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "officina-webhooks/1",
            "X-Officina-Event": delivery.event_type,
            "X-Officina-Delivery": delivery.id,
            "X-Officina-Timestamp": timestamp,
            "X-Officina-Signature": signature(delivery.secret, timestamp, delivery.body),
        }
        try:
            answer = self._http.post(delivery.url, content=delivery.body, headers=headers)
        except httpx.TimeoutException:
            return Outcome(False, error=f"no answer within {self._options.timeout_s:g} s")
        except httpx.HTTPError as err:
            return Outcome(False, error=f"{type(err).__name__}: {err}")
        code = answer.status_code
        if 200 <= code < 300:
            return Outcome(True, code)
        error = f"HTTP {code}: {answer.text[:ERROR_KEEP_CHARS]}"
        return Outcome(False, code, error, retry=code >= 500 or code in RETRIED_4XX or code < 200)

    def _record(self, delivery: Delivery, outcome: Outcome) -> None:
        now = self._clock()
        if outcome.delivered:
            self._store.delivered(delivery.id, outcome.status_code or 0, now=now)
            return
        error = outcome.error or "failed"
        if not outcome.retry or delivery.attempts >= self._options.max_attempts:
            log.warning("webhook delivery %s failed for good: %s", delivery.id, error)
            self._store.failed(delivery.id, error, outcome.status_code)
            return
        pause = self._options.backoff(delivery.attempts, self._draw)
        log.info(
            "webhook delivery %s: %s; retrying in %.0f s", delivery.id, error, pause.total_seconds()
        )
        self._store.retry_at(delivery.id, error, outcome.status_code, at=now + pause)
