"""The intake: validates each message against the contract and adds it to the open batch.

This runs on the MQTT network thread for every message, so it is the hot path: the messages of
a read arrive together (`take_many`, one lock), topics are parsed once and remembered (by their
bytes), telemetry is read straight from the raw bytes by `contract.reading` (msgspec, the
pydantic model deciding whatever msgspec does not take), and its line protocol is built with
string operations. A batch closes when it holds `batch_size` messages or its first message has
waited `flush_interval_s`; the booker takes closed batches.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from contract import (
    Badge,
    ContractError,
    GatewayStatus,
    GatewayStatusValue,
    MachineTopic,
    SessionRecord,
    StateChange,
    Topic,
    TopicKind,
    decode_payload,
    parse_topic,
)
from contract.reading import read_telemetry
from services.ingest.batch import Batch
from services.ingest.metrics import Stages
from services.ingest.rejections import RejectedTimes, rejected_tags
from services.ingest.schema import (
    MACHINE_STATE,
    TELEMETRY,
    gateway_series,
    gateway_status_line,
    gateway_status_time,
    rejected_line,
    series_key,
    session_line,
    state_line,
    telemetry_line,
)
from services.ledger import (
    DeadLetter,
    MachineEvent,
    SessionConflict,
    SiteSession,
    member_pseudonym,
)

log = logging.getLogger(__name__)

# (topic, payload, packet id; 0 for QoS 0): a message as the network thread hands it over.
Delivery = tuple[str | bytes, bytes, int]

# Published by the api for the gateways (access lists, remote commands): not ingest's to book.
API_KINDS = frozenset({TopicKind.ACL, TopicKind.COMMANDS})
DAY_MS = 86_400_000
# A gateway's clock may run a little ahead (it is set by NTP when it can); an hour is not a little.
SESSION_AHEAD_MS = 3_600_000
# Topics are bounded by the machines on the broker; this only guards against a topic flood.
MAX_REMEMBERED_TOPICS = 200_000


@dataclass(frozen=True, slots=True)
class Route:
    """A parsed topic and the InfluxDB series its messages go to."""

    topic: Topic
    site: str
    entity: str
    series: str
    name: str
    telemetry: bool


def route_of(topic: str) -> Route:
    """Parse a topic once into what booking needs; raises ContractError naming the level."""
    parsed = parse_topic(topic)
    if isinstance(parsed, MachineTopic):
        measurement = MACHINE_STATE if parsed.kind is TopicKind.STATE else TELEMETRY
        series = series_key(measurement, parsed.site, parsed.machine)
        is_telemetry = parsed.kind is TopicKind.TELEMETRY
        return Route(parsed, parsed.site, parsed.machine, series, topic, is_telemetry)
    series = gateway_series(parsed.site, parsed.gateway)
    return Route(parsed, parsed.site, parsed.gateway, series, topic, False)


class Intake:
    """Sorts messages into batches; thread-safe between the MQTT thread and the booker."""

    def __init__(
        self,
        *,
        batch_size: int,
        flush_interval_s: float,
        with_lines: bool,
        max_held: int | None = None,
        hold_wait_s: float = 5.0,
        pseudonym_key: str | None = None,
        session_max_age_ms: int = 90 * DAY_MS,
        stages: Stages | None = None,
    ) -> None:
        self._stages = stages
        self._batch_size = batch_size
        self._session_max_age_ms = session_max_age_ms
        # Sessions go to InfluxDB only under a pseudonym, so only when there is a key for it.
        self._pseudonym_key = pseudonym_key if with_lines else None
        self._max_held = max_held
        self._hold_wait_s = hold_wait_s
        self._flush_interval_s = flush_interval_s
        self._with_lines = with_lines
        # By topic as delivered: text, or bytes straight off the wire.
        self._routes: dict[str | bytes, Route] = {}
        self._rejected_times = RejectedTimes()
        self._conflict_times = RejectedTimes()
        # `take` holds the lock itself, not through the condition: two Python calls fewer a message.
        self._lock = threading.RLock()
        self._ready = threading.Condition(self._lock)
        self._open: Batch | None = None
        self._closed: deque[Batch] = deque()
        self._pending = 0
        self._received = 0
        self._left_with_broker = 0
        self._redelivery_due = False
        self._accepting = True

    @property
    def pending(self) -> int:
        """Messages received and not yet acknowledged (the backlog ingest holds)."""
        with self._ready:
            return self._pending

    @property
    def received(self) -> int:
        """Messages received since start."""
        with self._ready:
            return self._received

    @property
    def left_with_broker(self) -> int:
        """Messages not taken because ingest already held `max_held` (counted per delivery)."""
        with self._ready:
            return self._left_with_broker

    def redelivery_due(self) -> bool:
        """True once, when messages were left with the broker and nothing is held any more."""
        with self._ready:
            if self._redelivery_due and self._pending == 0:
                self._redelivery_due = False
                return True
            return False

    @property
    def accepting(self) -> bool:
        """Whether messages are still taken (false once ingest is stopping)."""
        with self._ready:
            return self._accepting

    def take(self, topic: str, raw: bytes, *, generation: int, mid: int) -> None:
        """Add one message to the open batch: a booking, a dead letter, or ignored."""
        self.take_many([(topic, raw, mid)], generation=generation)

    def take_many(self, deliveries: Sequence[Delivery], *, generation: int) -> int:
        """Add messages in the order given, under one lock; returns how many failed unexpectedly.

        A delivery is (topic, payload, packet id; 0 for QoS 0), the topic as bytes straight off
        the wire or as text. They are taken in runs that fit both the open batch and `max_held`,
        each run by `_fill`; at `max_held` a message waits for room, or is left with the broker.
        """
        failed, at, count = 0, 0, len(deliveries)
        with self._lock:
            while at < count:
                if not self._accepting:
                    return failed  # not acknowledged: the broker delivers it to the next ingest
                room = self._room()
                if room <= 0:
                    self._make_room()
                    room = self._room()
                if room <= 0:
                    # A store is away and ingest holds enough: leave the message unacknowledged
                    # with the broker, which delivers it again when ingest reconnects.
                    if not self._redelivery_due:
                        log.warning(
                            "holding %d messages; leaving the rest with the broker", self._pending
                        )
                    self._redelivery_due = True
                    self._left_with_broker += 1
                    at += 1
                    continue
                batch = self._open
                if batch is None:
                    batch = self._open = Batch(opened=time.monotonic())
                run = min(room, self._batch_size - batch.size, count - at)
                failed += self._fill(batch, deliveries[at : at + run], generation)
                at += run
                batch.size += run
                self._pending += run
                self._received += run
                if batch.size >= self._batch_size:
                    self._close_open()
        return failed

    def _room(self) -> int:
        """How many more messages may be held now."""
        return (1 << 62) if self._max_held is None else self._max_held - self._pending

    def _fill(self, batch: Batch, deliveries: Sequence[Delivery], generation: int) -> int:
        """Sort a run of messages into the batch (the hot loop); returns how many failed."""
        routes, with_lines = self._routes, self._with_lines
        lines, sources = batch.lines, batch.line_sources
        acks = batch.acks.setdefault(generation, [])
        failed = telemetry = 0
        for topic, raw, mid in deliveries:
            if mid:
                acks.append(mid)
            route = routes.get(topic)
            try:
                if route is not None and route.telemetry:
                    # Nearly every message: its route is known and it is read by the fast
                    # reader; one the contract refuses is dead-lettered.
                    try:
                        sample = read_telemetry(raw)
                    except ContractError as err:
                        self._reject(batch, route.name, raw, err)
                        continue
                    if with_lines:
                        lines.append(telemetry_line(route.series, sample))
                        sources.append((route.name, raw))
                    telemetry += 1
                else:
                    name = _topic_name(topic)
                    self._sort(batch, name, raw)
                    if route is None and name in routes:
                        routes[topic] = routes[name]
            except Exception as err:
                # A bug must not cost the messages after it (nor kill the network thread), nor
                # this one: it is kept as a dead letter, to replay once the bug is fixed.
                log.exception("unexpected error on a message on %r", topic)
                del lines[len(sources) :]  # a line made before the error, without its source
                error = f"unexpected error in ingest: {type(err).__name__}"
                batch.dead_letters.append(DeadLetter(_topic_name(topic), bytes(raw), error))
                failed += 1
        batch.telemetry += telemetry
        return failed

    def _make_room(self) -> None:
        """Under load, wait (reading nothing: TCP pushes back on the broker) for the booker."""
        if self._redelivery_due or self._max_held is None:
            return  # already leaving messages with the broker: do not stall the connection
        limit = self._max_held
        self._close_open()
        began = time.monotonic()
        # Bounded, so that paho's thread still answers keepalives during a long outage.
        self._ready.wait_for(
            lambda: self._pending < limit or not self._accepting, self._hold_wait_s
        )
        if self._stages is not None:
            self._stages.observe("held", time.monotonic() - began)

    def next_batch(self, wait_s: float) -> Batch | None:
        """The oldest closed batch, closing the open one once it is due; None after wait_s."""
        deadline = time.monotonic() + wait_s
        with self._ready:
            while True:
                if self._closed:
                    closed = self._closed.popleft()
                    closed.taken = time.monotonic()
                    return closed
                now = time.monotonic()
                batch = self._open
                if batch is not None and now - batch.opened >= self._flush_interval_s:
                    self._close_open()
                    continue
                if now >= deadline:
                    return None
                due = deadline if batch is None else batch.opened + self._flush_interval_s
                self._ready.wait(min(due, deadline) - now)

    def rejection_line(self, topic: str, raw: bytes) -> str:
        """The `rejected` point of a message the contract, or later a store, refused."""
        with self._lock:
            where, what = rejected_tags(topic)
            at_ms = self._rejected_times.time_of(where, what, topic, raw, _now_ms())
        return rejected_line(where, what, at_ms)

    def conflict_time(self, conflict: SessionConflict) -> int:
        """When a conflicting copy is counted in InfluxDB: at its `ts` if near now, else now."""
        # Placed as a rejected message is, by its session's id and its time: delivered again,
        # it lands on the same point; two copies never share a millisecond of a machine.
        placed_by = json.dumps({"ts": conflict.ts}).encode()
        with self._lock:
            return self._conflict_times.time_of(
                conflict.site, conflict.machine, conflict.session_id, placed_by, _now_ms()
            )

    def done(self, batch: Batch) -> None:
        """Record that a batch was acknowledged (or abandoned, to be delivered again)."""
        with self._ready:
            self._pending -= batch.size
            self._ready.notify_all()

    def close_open(self) -> None:
        """Close the open batch now, so the booker takes it without waiting for the interval."""
        with self._ready:
            self._close_open()

    def stop_accepting(self) -> None:
        """Take no more messages; close the open batch so what was taken can still be booked."""
        with self._ready:
            self._accepting = False
            self._close_open()

    def _close_open(self) -> None:
        if self._open is not None and self._open.size:
            self._open.closed = time.monotonic()
            self._closed.append(self._open)
            self._open = None
            self._ready.notify_all()

    def _sort(self, batch: Batch, topic: str, raw: bytes) -> None:
        route = self._routes.get(topic)
        try:
            if route is None:
                route = route_of(topic)
                if len(self._routes) >= MAX_REMEMBERED_TOPICS:
                    self._routes.clear()
                self._routes[topic] = route
            kind = route.topic.kind
            if kind is TopicKind.TELEMETRY:
                # Nearly every message: checked first, and validated by its own model directly.
                sample = read_telemetry(raw)
                if self._with_lines:
                    batch.lines.append(telemetry_line(route.series, sample))
                    batch.line_sources.append((topic, raw))
                batch.telemetry += 1
                return
            if kind in API_KINDS:
                batch.counts["ignored"] += 1
                return
            payload = decode_payload(kind, raw)
            if isinstance(payload, StateChange):
                source = (topic, raw)
                if self._with_lines:
                    batch.lines.append(state_line(route.series, payload))
                    batch.line_sources.append(source)
                batch.states.append((MachineEvent(route.site, route.entity, payload), source))
            elif isinstance(payload, SessionRecord):
                if payload.machine != route.entity:
                    raise ContractError.single(
                        "machine", f"must equal the topic's machine {route.entity!r}"
                    )
                self._check_near_now(payload)
                source = (topic, raw)
                if self._pseudonym_key is not None:
                    user = member_pseudonym(payload.member, self._pseudonym_key)
                    batch.lines.append(session_line(route.site, payload, user))
                    batch.line_sources.append(source)
                batch.sessions.append((SiteSession(route.site, payload, topic), source))
            elif isinstance(payload, Badge):
                event = MachineEvent(route.site, route.entity, payload)
                batch.badges.append((event, (topic, raw)))
            elif isinstance(payload, GatewayStatus):
                if self._with_lines:
                    at_ms = gateway_status_time(payload, _now_ms())
                    batch.lines.append(gateway_status_line(route.series, payload, at_ms))
                    batch.line_sources.append((topic, raw))
                batch.counts["gateway_status"] += 1
                # Online gateways repeat their status every minute: only a departure is news.
                online = payload.status is GatewayStatusValue.ONLINE
                log.log(
                    logging.DEBUG if online else logging.INFO,
                    "gateway %s/%s is %s",
                    route.site,
                    route.entity,
                    payload.status.value,
                )
            else:
                batch.counts["ignored"] += 1
        except ContractError as err:
            self._reject(batch, topic, raw, err)

    def _reject(self, batch: Batch, topic: str, raw: bytes, err: ContractError) -> None:
        """Dead-letter a message the contract refused, and count it in InfluxDB."""
        log.warning("rejected message on %s: field %s: %s", topic, err.field, err)
        batch.dead_letters.append(DeadLetter(topic, bytes(raw), str(err), err.field))
        if self._with_lines:
            batch.lines.append(self.rejection_line(topic, raw))
            batch.line_sources.append((topic, raw))

    def _check_near_now(self, record: SessionRecord) -> None:
        """Refuse a session whose times no spool catching up could explain."""
        now = _now_ms()
        if record.started < now - self._session_max_age_ms:
            days = self._session_max_age_ms / DAY_MS
            raise ContractError.single("started", f"more than {days:g} days before now")
        if record.ended > now + SESSION_AHEAD_MS:
            raise ContractError.single("ended", "more than an hour after now")


def _topic_name(topic: str | bytes) -> str:
    if isinstance(topic, str):
        return topic
    try:
        return topic.decode("utf-8")
    except UnicodeDecodeError:
        return repr(topic)  # the broker should never pass this on; keep it anyway


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
