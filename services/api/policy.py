"""Machine policy out: each gateway's retained `config`, republished when a policy changes.

The registry is the one place a machine's run thresholds and session rules are kept. Each
gateway is sent the policy of every machine it serves on its own retained config topic, with a
version that only grows (kept in the ledger, and topped over any retained config already on
the broker), so a gateway takes a config only if it is newer than the one it runs by.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from contract import (
    POLICY_FIELDS,
    GatewayPolicy,
    GatewayTopic,
    MachinePolicy,
    Message,
    TopicKind,
    encode_payload,
)
from services.api.broker import BrokerLink
from services.api.errors import BrokerError
from services.api.models import GatewayConfigVersionRow
from services.ledger import LedgerError, MachineRow

log = logging.getLogger(__name__)

RETRY_S = 1.0
EVERY_GATEWAY = "*"


class PolicySource(Protocol):
    """Where machine policies come from: the registry."""

    def machines(
        self, *, site: str | None = None, gateway: str | None = None
    ) -> Sequence[MachineRow]:
        """The registered machines of a site (or of one gateway)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def machine_policy(row: MachineRow) -> MachinePolicy:
    """The policy a gateway is sent for one registered machine."""
    return MachinePolicy(machine=row.id, **{name: getattr(row, name) for name in POLICY_FIELDS})


class PolicyPublisher:
    """A worker thread that publishes gateway configs; requests only tell it what changed."""

    def __init__(
        self,
        *,
        site: str,
        link: BrokerLink,
        source: PolicySource,
        engine: Engine,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.site = site
        self._link = link
        self._source = source
        self._open_db = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._changed: queue.Queue[frozenset[str] | None] = queue.Queue()
        self._seen_lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="policy-publisher", daemon=True)
        link.follow(GatewayTopic.filter(site, "+", TopicKind.CONFIG), self._saw)
        link.when_connected(self.everything_changed)

    def __enter__(self) -> PolicyPublisher:
        self._worker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._changed.put(None)
        self._worker.join(timeout=10)

    def gateways_changed(self, gateways: Iterable[str]) -> None:
        """Republish these gateways' configs (soon, on the worker thread)."""
        changed = frozenset(gateways)
        if changed:
            self._changed.put(changed)

    def everything_changed(self) -> None:
        """Republish every gateway's config: on connecting to the broker."""
        self._changed.put(frozenset({EVERY_GATEWAY}))

    def _saw(self, message: Message) -> None:
        # A retained config from before (a restored database): the next version must top it.
        payload, topic = message.payload, message.topic
        if isinstance(payload, GatewayPolicy) and isinstance(topic, GatewayTopic):
            with self._seen_lock:
                self._seen[topic.gateway] = max(self._seen.get(topic.gateway, -1), payload.version)

    def _run(self) -> None:
        pending: set[str] = set()
        while not self._stop.is_set():
            item = self._changed.get()
            if item is None:
                return
            pending |= item
            while not self._changed.empty():
                more = self._changed.get_nowait()
                if more is None:
                    return
                pending |= more
            pending = self._publish_all(pending)
            if pending and self._stop.wait(RETRY_S) is False:
                self._changed.put(frozenset())

    def _publish_all(self, gateways: set[str]) -> set[str]:
        """Publish each gateway's config; return those that must be tried again."""
        try:
            if EVERY_GATEWAY in gateways:
                registered = {m.gateway for m in self._source.machines(site=self.site)}
                gateways = registered | (gateways - {EVERY_GATEWAY})
        except LedgerError as err:
            log.warning("gateway configs: cannot read the machines: %s", err)
            return gateways
        failed: set[str] = set()
        for gateway in sorted(gateways):
            try:
                self._publish(gateway)
            except (BrokerError, LedgerError) as err:
                log.warning("config of gateway %s not published: %s", gateway, err)
                failed.add(gateway)
        return failed

    def _publish(self, gateway: str) -> None:
        now = self._clock()
        machines = tuple(
            machine_policy(row)
            for row in self._source.machines(site=self.site, gateway=gateway)
            if row.retired_at is None
        )
        version = self._next_version(gateway, len(machines), now)
        stamp = int(now.timestamp() * 1000)
        payload = GatewayPolicy(
            id=f"config-{gateway}-{version}", ts=stamp, version=version, machines=machines
        )
        topic = GatewayTopic(self.site, gateway, TopicKind.CONFIG)
        self._link.publish(str(topic), encode_payload(payload), retain=True)
        log.info("config of gateway %s v%d: %d machines", gateway, version, len(machines))

    def _next_version(self, gateway: str, machines: int, now: datetime) -> int:
        with self._seen_lock:
            seen = self._seen.get(gateway, -1)
        try:
            with self._open_db.begin() as db:
                key = (self.site, gateway)
                row = db.get(GatewayConfigVersionRow, key, with_for_update=True)
                if row is None:
                    row = GatewayConfigVersionRow(site=self.site, gateway=gateway, version=-1)
                    db.add(row)
                row.version = max(row.version, seen) + 1
                row.machines = machines
                row.published_at = now
                return row.version
        except SQLAlchemyError as err:
            raise LedgerError(f"next config version of gateway {gateway}: {err}") from err
