"""The booker: makes each closed batch durable, then acknowledges its messages to the broker.

For every batch, in order: one ledger transaction (sessions, badges, states, dead letters), then
InfluxDB (the batch's lines in one POST), then the acknowledgements. Up to two batches' POSTs
are in flight at once (InfluxDB answers two writers a third faster than one, and the booker would
otherwise sit waiting on its answer); acknowledgements still go in the order the batches closed,
each only once its own batch is durable in both stores. A store that is away
is retried with a growing pause, and nothing is acknowledged meanwhile, so the broker keeps the
backlog. A batch the database refuses for its data is booked message by message and the
message it refuses is dead-lettered; lines InfluxDB refuses are found by halving the batch and
dead-lettered the same way, so one bad message never holds back the good ones next to it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from services.influx import (
    InfluxClient,
    InfluxRefusedError,
    InfluxUnavailableError,
)
from services.ingest.batch import Batch, Source
from services.ingest.counters import Counters
from services.ingest.errors import IngestError
from services.ingest.intake import Intake
from services.ingest.metrics import Histogram, Stages
from services.ingest.schema import conflict_line
from services.ingest.settings import RetryPolicy
from services.ledger import (
    BookingResult,
    Bookings,
    DeadLetter,
    LedgerError,
    LedgerUnavailableError,
    SessionBook,
    SessionConflict,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
# Packet ids by connection generation (`Batch.acks`).
Acknowledge = Callable[[Mapping[int, Sequence[int]]], None]
LEDGER, INFLUXDB = "ledger", "influxdb"
# The field a dead letter names when a store, not the contract, refused the message.
LEDGER_FIELD, INFLUXDB_FIELD = "(ledger)", "(influxdb)"
# A machine draws more than its plate says when starting (inrush) and when the plate is
# optimistic; half as much again over a whole session is not a machine but a bad meter or a lie.
RATED_POWER_MARGIN = 1.5
# InfluxDB writes in flight at once: a second overlaps the first's wait; more gain nothing on a
# single InfluxDB and hold more messages unacknowledged.
WRITES_IN_FLIGHT = 2


@dataclass(frozen=True, slots=True)
class _InFlight:
    """A batch booked in the ledger whose InfluxDB write is under way."""

    batch: Batch
    result: BookingResult
    # What InfluxDB refused, and when the write was done (time.monotonic).
    refused: Future[tuple[list[DeadLetter], float]]


class BookingAbandonedError(IngestError):
    """Ingest is stopping while a store is away: the batch stays unacknowledged."""


class Booker:
    """Books closed batches from the intake on a thread of its own."""

    def __init__(
        self,
        *,
        intake: Intake,
        ledger: SessionBook,
        influx: InfluxClient | None,
        acknowledge: Acknowledge,
        redeliver: Callable[[], None],
        counters: Counters,
        batch_seconds: Histogram,
        retry: RetryPolicy,
        stages: Stages | None = None,
    ) -> None:
        self._stages = stages or Stages()
        self._intake = intake
        self._ledger = ledger
        self._influx = influx
        self._acknowledge = acknowledge
        self._redeliver = redeliver
        self._counters = counters
        self._batch_seconds = batch_seconds
        self._retry = retry
        self._stopping = threading.Event()
        self._drained = threading.Event()
        self._up = {LEDGER: True} | ({INFLUXDB: True} if influx is not None else {})
        self._thread = threading.Thread(target=self._run, name="ingest-booker", daemon=True)

    @property
    def stores_up(self) -> Mapping[str, bool]:
        """Whether the last write to each store succeeded."""
        return MappingProxyType(dict(self._up))

    def start(self) -> None:
        """Start booking on the background thread."""
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Book what was taken for up to timeout_s, then give up on the rest (it is redelivered)."""
        self._intake.stop_accepting()
        if self._thread.is_alive():
            self._drained.wait(timeout_s)
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        with ThreadPoolExecutor(WRITES_IN_FLIGHT, thread_name_prefix="ingest-influx") as writers:
            in_flight: deque[_InFlight] = deque()
            try:
                self._book_batches(writers, in_flight)
            except BookingAbandonedError:
                log.warning(
                    "stopping with %d messages not booked; the broker keeps them",
                    self._intake.pending,
                )
                for item in in_flight:
                    self._intake.done(item.batch)

    def _book_batches(self, writers: ThreadPoolExecutor, in_flight: deque[_InFlight]) -> None:
        while True:
            if not in_flight and self._intake.redelivery_due():
                log.info("caught up; reconnecting so the broker sends what it kept")
                self._redeliver()
            # With writes in flight, take only a batch that is ready: else finish the oldest.
            batch = self._intake.next_batch(0.0 if in_flight else 0.2)
            if batch is None:
                if in_flight:
                    self._finish(in_flight.popleft())
                    continue
                if not self._intake.accepting:
                    self._drained.set()
                if self._stopping.is_set():
                    return
                continue
            try:
                in_flight.append(self._start(batch, writers))
            except BookingAbandonedError:
                self._intake.done(batch)
                raise
            except Exception as err:
                self._unexpected(batch, err)
                continue
            if len(in_flight) >= WRITES_IN_FLIGHT:
                self._finish(in_flight.popleft())

    def _unexpected(self, batch: Batch, err: Exception) -> None:
        # A bug must not stop booking for good; the batch is delivered again later.
        log.error("unexpected error booking %d messages", batch.size, exc_info=err)
        self._counters.add("failed.unexpected")
        self._intake.done(batch)

    def _start(self, batch: Batch, writers: ThreadPoolExecutor) -> _InFlight:
        """Book a batch in the ledger and start its InfluxDB write."""
        result = self._until_done(LEDGER, lambda: self._book_ledger(batch))
        booked = time.monotonic()
        self._stages.observe("filling", batch.closed - batch.opened)
        self._stages.observe("queued", batch.taken - batch.closed)
        self._stages.observe("ledger", booked - batch.taken)
        lines, sources = batch.lines, batch.line_sources
        if result.conflicts and self._influx is not None:
            lines, sources = self._without_conflicting_points(batch, result.conflicts)
            for conflict in result.conflicts:
                lines.append(self._conflict_line(conflict))
                # Should InfluxDB refuse the point, its dead letter names the session.
                sources.append((conflict.topic, conflict.session_id.encode()))
        refused = writers.submit(self._timed_write, lines, sources)
        return _InFlight(batch, result, refused)

    def _timed_write(
        self, lines: Sequence[str], sources: Sequence[Source]
    ) -> tuple[list[DeadLetter], float]:
        began = time.monotonic()
        refused = self._until_done(INFLUXDB, lambda: self._write_lines(lines, sources))
        written = time.monotonic()
        self._stages.observe("influxdb", written - began)
        return refused, written

    def _finish(self, item: _InFlight) -> None:
        """Wait for a batch's InfluxDB write, keep what it refused, then acknowledge the batch."""
        try:
            refused, written = item.refused.result()
            if refused:
                # Kept like any rejected message, with the raw bytes, before anything is acked.
                self._until_done(LEDGER, lambda: self._ledger.book(Bookings(dead_letters=refused)))
            late = [d for d in item.batch.dead_letters if d.field == LEDGER_FIELD] + refused
            if late:
                self._show_rejected(late)
        except BookingAbandonedError:
            self._intake.done(item.batch)
            raise
        except Exception as err:
            self._unexpected(item.batch, err)
            return
        self._acknowledge(item.batch.acks)
        acked = time.monotonic()
        self._intake.done(item.batch)
        self._count(item.batch, item.result, refused)
        self._batch_seconds.observe(acked - item.batch.opened)
        self._stages.observe("acknowledging", acked - written)

    def _show_rejected(self, letters: Sequence[DeadLetter]) -> None:
        """Count messages a store refused on the dashboards too, as the intake does the others."""
        if self._influx is None:
            return
        lines = [self._intake.rejection_line(letter.topic, letter.raw) for letter in letters]
        sources = [(letter.topic, letter.raw) for letter in letters]
        still = self._until_done(INFLUXDB, lambda: self._write_lines(lines, sources))
        if still:
            log.error("InfluxDB refused %d points of rejected messages", len(still))

    def _without_conflicting_points(
        self, batch: Batch, conflicts: Sequence[SessionConflict]
    ) -> tuple[list[str], list[Source]]:
        """The batch's lines but the `session` points of conflicting copies: the first stands."""
        copies = {id(conflict.copy) for conflict in conflicts}
        gone = {id(source) for session, source in batch.sessions if id(session.record) in copies}
        kept = [
            (line, source)
            for line, source in zip(batch.lines, batch.line_sources, strict=True)
            if id(source) not in gone
        ]
        return [line for line, _ in kept], [source for _, source in kept]

    def _conflict_line(self, conflict: SessionConflict) -> str:
        """The `session_conflict` point of a conflicting copy, at a millisecond of its own."""
        at_ms = self._intake.conflict_time(conflict)
        return conflict_line(conflict.site, conflict.machine, at_ms)

    def _refuse_beyond_rated_power(self, batch: Batch) -> None:
        """Dead-letter sessions whose energy their machine's rated power could not have drawn."""
        if not batch.sessions:
            return
        rated = self._ledger.rated_powers({(s.site, s.record.machine) for s, _ in batch.sessions})
        if not rated:
            return
        kept, refused = [], []
        for item in batch.sessions:
            session, source = item
            watts = rated.get((session.site, session.record.machine))
            record = session.record
            span_h = (record.ended - record.started) / 3_600_000
            if watts is None or record.energy_wh <= RATED_POWER_MARGIN * watts * span_h:
                kept.append(item)
                continue
            error = (
                f"energy_wh: {record.energy_wh:g} Wh is more than {RATED_POWER_MARGIN:g} x the "
                f"machine's rated {watts:g} W could draw in the session's {span_h * 3600:g} s"
            )
            log.warning("rejected message on %s: %s", source[0], error)
            refused.append(source)
            batch.dead_letters.append(_letter(source, error, "energy_wh"))
        if not refused:
            return
        batch.sessions = kept
        # Its `session` point must not reach the dashboards either: its rejection does.
        gone = {id(source) for source in refused}
        pairs = [
            (line, source)
            for line, source in zip(batch.lines, batch.line_sources, strict=True)
            if id(source) not in gone
        ]
        batch.lines = [line for line, _ in pairs]
        batch.line_sources = [source for _, source in pairs]
        if self._influx is not None:
            for topic, raw in refused:
                batch.lines.append(self._intake.rejection_line(topic, raw))
                batch.line_sources.append((topic, raw))

    def _book_ledger(self, batch: Batch) -> BookingResult:
        self._refuse_beyond_rated_power(batch)
        try:
            return self._ledger.book(batch.bookings())
        except LedgerUnavailableError:
            raise
        except LedgerError as err:
            log.error("the ledger refused a batch (%s); booking its messages one by one", err)
        return self._book_one_by_one(batch)

    def _book_one_by_one(self, batch: Batch) -> BookingResult:
        totals: Counter[str] = Counter()
        new_sessions: set[str] = set()
        held: set[str] = set()
        conflicts: list[SessionConflict] = []
        letters = list(batch.dead_letters)
        for bookings, source in batch.ledger_items():
            try:
                result = self._ledger.book(bookings)
            except LedgerUnavailableError:
                raise
            except LedgerError as err:
                log.error("the ledger refused a message on %s: %s", source[0], err)
                letters.append(_letter(source, f"the ledger refused it: {err}", LEDGER_FIELD))
                continue
            new_sessions |= result.new_sessions
            held |= result.held_sessions
            conflicts.extend(result.conflicts)
            totals.update(
                repeated_sessions=result.repeated_sessions,
                new_badges=result.new_badges,
                repeated_badges=result.repeated_badges,
                states_kept=result.states_kept,
                states_stale=result.states_stale,
            )
        self._ledger.book(Bookings(dead_letters=letters))
        batch.dead_letters = letters
        return BookingResult(
            new_sessions=frozenset(new_sessions),
            repeated_sessions=totals["repeated_sessions"],
            conflicts=tuple(conflicts),
            held_sessions=frozenset(held),
            new_badges=totals["new_badges"],
            repeated_badges=totals["repeated_badges"],
            states_kept=totals["states_kept"],
            states_stale=totals["states_stale"],
            dead_letters=len(letters),
        )

    def _write_lines(self, lines: Sequence[str], sources: Sequence[Source]) -> list[DeadLetter]:
        """Write lines; return the dead letters of the ones InfluxDB refuses, found by halving."""
        if self._influx is None or not lines:
            return []
        try:
            self._influx.write_lines(lines)
        except InfluxRefusedError as err:
            if len(lines) == 1:
                log.error("InfluxDB refused the point of a message on %s: %s", sources[0][0], err)
                return [_letter(sources[0], f"InfluxDB refused its point: {err}", INFLUXDB_FIELD)]
            half = len(lines) // 2
            return self._write_lines(lines[:half], sources[:half]) + self._write_lines(
                lines[half:], sources[half:]
            )
        self._counters.add("influx_lines", len(lines))
        return []

    def _until_done(self, store: str, step: Callable[[], T]) -> T:
        pause = self._retry.delays()
        while True:
            try:
                done = step()
            except (LedgerUnavailableError, InfluxUnavailableError) as err:
                if self._up.get(store, True):
                    log.error(
                        "%s unavailable, holding acknowledgements until it returns: %s", store, err
                    )
                self._up[store] = False
                self._counters.add(f"failed.{store}")
                delay = pause()
                log.warning(
                    "%s: retrying in %.1f s (%d messages held)", store, delay, self._intake.pending
                )
                if self._stopping.wait(delay):
                    raise BookingAbandonedError(store) from err
                continue
            if not self._up.get(store, True):
                log.info("%s is back; catching up (%d messages held)", store, self._intake.pending)
            self._up[store] = True
            return done

    def _count(self, batch: Batch, result: BookingResult, refused: Sequence[DeadLetter]) -> None:
        counts = Counter(batch.counts)
        counts["telemetry"] += batch.telemetry
        for session in batch.sessions:
            if session[0].record.id in result.new_sessions:
                # Sessions come minutes apart: one line each is the audit trail operators want.
                log.info(
                    "booked session %s at %s/%s",
                    session[0].record.id,
                    session[0].site,
                    session[0].record.machine,
                )
        counts["sessions_booked"] += len(result.new_sessions)
        counts["sessions_duplicate"] += result.repeated_sessions
        counts["session_conflicts"] += len(result.conflicts)
        counts["sessions_held"] += len(result.held_sessions)
        for conflict in result.conflicts:
            log.warning(
                "session %s delivered again on %s with another body; the first booking stands",
                conflict.session_id,
                conflict.topic,
            )
        for held in sorted(result.held_sessions):
            log.warning("session %s names a member the registry does not know: held", held)
        counts["badges_booked"] += result.new_badges
        counts["badges_duplicate"] += result.repeated_badges
        counts["states"] += result.states_kept + result.states_stale
        counts["states_stale"] += result.states_stale
        for letter in [*batch.dead_letters, *refused]:
            counts[f"rejected.{letter.field}"] += 1
            counts["rejected"] += 1
        counts["batches"] += 1
        self._counters.add_many(counts)


def _letter(source: Source, error: str, field: str) -> DeadLetter:
    topic, raw = source
    return DeadLetter(topic, bytes(raw), error, field)
