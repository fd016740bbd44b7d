"""What ingest does with one message: validate it, then book it, or keep it as a dead letter."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from contract import (
    Badge,
    ContractError,
    GatewayStatus,
    MachineTopic,
    SessionRecord,
    StateChange,
    Telemetry,
    Topic,
    TopicKind,
    decode_message,
    parse_topic,
)
from services.ingest.influx import InfluxError, InfluxWriter
from services.ingest.line_protocol import LineProtocolError, Point
from services.ingest.schema import state_point, telemetry_point
from services.ledger import Ledger, LedgerError

log = logging.getLogger(__name__)

# Published by the api for the gateways (access lists, remote commands): not ingest's to book.
API_KINDS = frozenset({TopicKind.ACL, TopicKind.COMMANDS})


class Outcome(StrEnum):
    """What became of one message."""

    BOOKED = "booked"
    DUPLICATE = "duplicate"
    STALE = "stale"
    IGNORED = "ignored"
    REJECTED = "rejected"
    FAILED = "failed"


class Counters:
    """Named event counts, safe to bump from the MQTT thread and read from any other."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        """Add to a counter."""
        with self._changed:
            self._counts[name] += amount
            self._changed.notify_all()

    def snapshot(self) -> Mapping[str, int]:
        """A read-only copy of every counter."""
        with self._changed:
            return MappingProxyType(dict(self._counts))

    def wait_for(self, name: str, at_least: int, timeout: float) -> bool:
        """Block until a counter reaches a value; False if it did not within timeout seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._counts[name] >= at_least, timeout)


class Consumer:
    """Turns each MQTT message into ledger bookings and InfluxDB points."""

    def __init__(
        self, *, ledger: Ledger, influx: InfluxWriter | None, counters: Counters | None = None
    ) -> None:
        self.ledger = ledger
        self.influx = influx
        self.counters = counters or Counters()

    def handle(self, topic: str, raw: bytes) -> Outcome:
        """Process one message completely; never raises for bad input or a failing store."""
        self.counters.add("received")
        try:
            parsed = parse_topic(topic)
            if parsed.kind in API_KINDS:
                self.counters.add("ignored")
                return Outcome.IGNORED
            message = decode_message(topic, raw)
        except ContractError as err:
            return self._reject(topic, raw, err)
        site, entity, payload = message.topic.site, _entity(message.topic), message.payload
        try:
            if isinstance(payload, Telemetry):
                self._write_points(telemetry_point(site, entity, payload))
                self.counters.add("telemetry")
                return Outcome.BOOKED
            if isinstance(payload, StateChange):
                self._write_points(state_point(site, entity, payload))
                kept = self.ledger.record_state(site, entity, payload)
                if not kept:
                    self.counters.add("states_stale")
                self.counters.add("states")
                return Outcome.BOOKED if kept else Outcome.STALE
            if isinstance(payload, SessionRecord):
                new = self.ledger.book_session(site, payload)
                if new:
                    # Sessions come minutes apart: one line each is the audit trail operators want.
                    log.info("booked session %s at %s/%s", payload.id, site, entity)
                return self._count(new, "sessions")
            if isinstance(payload, Badge):
                return self._count(self.ledger.book_badge(site, entity, payload), "badges")
            if isinstance(payload, GatewayStatus):
                self.counters.add("gateway_status")
                log.info("gateway %s/%s is %s", site, entity, payload.status.value)
                return Outcome.BOOKED
        except LedgerError as err:
            log.error("ledger failed on a message on %s: %s", topic, err)
            self.counters.add("failed")
            self.counters.add("failed.ledger")
            return Outcome.FAILED
        self.counters.add("ignored")
        return Outcome.IGNORED

    def _count(self, new: bool, what: str) -> Outcome:
        if new:
            self.counters.add(f"{what}_booked")
            return Outcome.BOOKED
        self.counters.add(f"{what}_duplicate")
        return Outcome.DUPLICATE

    def _write_points(self, *points: Point) -> None:
        if self.influx is None:
            return
        try:
            self.influx.write(points)
        except (InfluxError, LineProtocolError) as err:
            # Telemetry is for dashboards; losing a sample must not stop the sessions.
            log.error("could not queue points for InfluxDB: %s", err)
            self.counters.add("failed")
            self.counters.add("failed.influx")

    def _reject(self, topic: str, raw: bytes, err: ContractError) -> Outcome:
        log.warning("rejected message on %s: field %s: %s", topic, err.field, err)
        try:
            self.ledger.dead_letter(topic, raw, str(err), field=err.field)
        except LedgerError as store_err:
            log.error("could not keep the rejected message on %s: %s", topic, store_err)
            self.counters.add("failed")
            self.counters.add("failed.dead_letter")
        # Counted last: whoever sees the count can already read the dead letter.
        self.counters.add(f"rejected.{err.field}")
        self.counters.add("rejected")
        return Outcome.REJECTED


def _entity(topic: Topic) -> str:
    """The machine or gateway id a topic names."""
    return topic.machine if isinstance(topic, MachineTopic) else topic.gateway
