"""The booker: makes each closed batch durable, then acknowledges its messages to the broker.

For every batch, in order: one ledger transaction (sessions, badges, states, dead letters), then
InfluxDB (the batch's lines in one gzip POST), then the acknowledgements. A store that is away
is retried with a growing pause, and nothing is acknowledged meanwhile, so the broker keeps the
backlog. A batch the database refuses for its data is booked message by message and the
message it refuses is dead-lettered; lines InfluxDB refuses are found by halving the batch and
dead-lettered the same way, so one bad message never holds back the good ones next to it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

from services.ingest.batch import Batch, Source
from services.ingest.counters import Counters
from services.ingest.errors import IngestError
from services.ingest.influx import (
    InfluxClient,
    InfluxRefusedError,
    InfluxUnavailableError,
)
from services.ingest.intake import Intake
from services.ingest.metrics import Histogram
from services.ingest.settings import RetryPolicy
from services.ledger import (
    BookingResult,
    Bookings,
    DeadLetter,
    Ledger,
    LedgerError,
    LedgerUnavailableError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Acknowledge = Callable[[Sequence[tuple[int, int]]], None]
LEDGER, INFLUXDB = "ledger", "influxdb"


class BookingAbandonedError(IngestError):
    """Ingest is stopping while a store is away: the batch stays unacknowledged."""


class Booker:
    """Books closed batches from the intake on a thread of its own."""

    def __init__(
        self,
        *,
        intake: Intake,
        ledger: Ledger,
        influx: InfluxClient | None,
        acknowledge: Acknowledge,
        redeliver: Callable[[], None],
        counters: Counters,
        batch_seconds: Histogram,
        retry: RetryPolicy,
    ) -> None:
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
        while True:
            if self._intake.redelivery_due():
                log.info("caught up; reconnecting so the broker sends what it kept")
                self._redeliver()
            batch = self._intake.next_batch(0.2)
            if batch is None:
                if not self._intake.accepting:
                    self._drained.set()
                if self._stopping.is_set():
                    return
                continue
            try:
                self.book(batch)
            except BookingAbandonedError:
                log.warning(
                    "stopping with %d messages not booked; the broker keeps them", batch.size
                )
                self._intake.done(batch)
                return
            except Exception:
                # A bug must not stop booking for good; the batch is delivered again later.
                log.exception("unexpected error booking %d messages", batch.size)
                self._counters.add("failed.unexpected")
                self._intake.done(batch)

    def book(self, batch: Batch) -> None:
        """Make one batch durable in both stores, then acknowledge it and count it."""
        result = self._until_done(LEDGER, lambda: self._book_ledger(batch))
        refused = self._until_done(
            INFLUXDB, lambda: self._write_lines(batch.lines, batch.line_sources)
        )
        if refused:
            # Kept like any rejected message, with the raw bytes, before anything is acknowledged.
            self._until_done(LEDGER, lambda: self._ledger.book(Bookings(dead_letters=refused)))
        self._acknowledge(batch.acks)
        self._intake.done(batch)
        self._count(batch, result, refused)
        self._batch_seconds.observe(time.monotonic() - batch.opened)

    def _book_ledger(self, batch: Batch) -> BookingResult:
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
        letters = list(batch.dead_letters)
        for bookings, source in batch.ledger_items():
            try:
                result = self._ledger.book(bookings)
            except LedgerUnavailableError:
                raise
            except LedgerError as err:
                log.error("the ledger refused a message on %s: %s", source[0], err)
                letters.append(_letter(source, f"the ledger refused it: {err}", "(ledger)"))
                continue
            new_sessions |= result.new_sessions
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
            dead_letters=len(letters),
            **totals,
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
                return [_letter(sources[0], f"InfluxDB refused its point: {err}", "(influxdb)")]
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
