"""Write points to InfluxDB over its v1-compatible HTTP API (1.8+, 2.x, 3.x).

Lines are buffered and sent in gzip batches of at most 5,000 lines, when a batch is full or every
`flush_interval_s`. A batch InfluxDB did not take stays at the head of the buffer and is retried
with a bounded backoff; only a batch InfluxDB rejects as malformed (HTTP 400) is given up, and
that is logged and counted.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from services.ingest.errors import SettingsError
from services.ingest.line_protocol import Point

log = logging.getLogger(__name__)

MAX_BATCH_LINES = 5_000


class InfluxError(Exception):
    """InfluxDB could not be written."""


class InfluxWriteError(InfluxError):
    """A write to InfluxDB failed; the lines are still buffered unless said otherwise."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InfluxBacklogFullError(InfluxError):
    """The buffer of unsent lines is full: InfluxDB has been unreachable for too long."""


@dataclass(frozen=True, slots=True)
class InfluxSettings:
    """Where and as whom to write: a v1 database (a DBRP-mapped bucket on 2.x and 3.x)."""

    url: str
    database: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    retention_policy: str | None = None
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise SettingsError(f"influx url {self.url!r}: must start with http:// or https://")
        if not self.database:
            raise SettingsError("influx database: must not be empty")
        if self.token and self.username:
            raise SettingsError("influx token and username: give one way of logging in, not both")


@dataclass(frozen=True, slots=True)
class WriterTotals:
    """What the writer has done so far."""

    written: int
    rejected: int
    failures: int
    pending: int


class InfluxWriter:
    """Buffers points and writes them in batches from a background thread."""

    def __init__(
        self,
        settings: InfluxSettings,
        *,
        batch_lines: int = MAX_BATCH_LINES,
        flush_interval_s: float = 1.0,
        max_backoff_s: float = 30.0,
        max_pending_lines: int = 1_000_000,
    ) -> None:
        if not 1 <= batch_lines <= MAX_BATCH_LINES:
            raise SettingsError(f"batch_lines: must be between 1 and {MAX_BATCH_LINES}")
        self.settings = settings
        self._batch_lines = batch_lines
        self._flush_interval_s = flush_interval_s
        self._max_backoff_s = max_backoff_s
        self._max_pending = max_pending_lines
        self._client = httpx.Client(
            base_url=settings.url.rstrip("/"),
            timeout=settings.timeout_s,
            auth=(settings.username, settings.password or "") if settings.username else None,
            headers={"Authorization": f"Token {settings.token}"} if settings.token else None,
        )
        self._params = {"db": settings.database, "precision": "ms"}
        if settings.retention_policy:
            self._params["rp"] = settings.retention_policy
        self._lines: deque[str] = deque()
        self._wake = threading.Condition()
        self._send_lock = threading.Lock()  # one POST at a time keeps batches in order
        self._closing = False
        self._written = self._rejected = self._failures = 0
        self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
        self._thread.start()

    def __enter__(self) -> InfluxWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def totals(self) -> WriterTotals:
        """Lines written, rejected by InfluxDB, failed attempts, and lines still pending."""
        with self._wake:
            return WriterTotals(self._written, self._rejected, self._failures, len(self._lines))

    def write(self, points: Iterable[Point]) -> None:
        """Queue points for writing; raises LineProtocolError before queueing any if one is bad."""
        lines = [point.to_line() for point in points]
        with self._wake:
            if self._closing:
                raise InfluxError("writer is closed")
            if len(self._lines) + len(lines) > self._max_pending:
                raise InfluxBacklogFullError(
                    f"{len(self._lines)} lines wait for InfluxDB at {self.settings.url}; "
                    f"{len(lines)} more refused"
                )
            self._lines.extend(lines)
            if len(self._lines) >= self._batch_lines:
                self._wake.notify_all()

    def flush(self) -> None:
        """Send everything buffered now; raises InfluxWriteError (lines kept) if InfluxDB fails."""
        while self._send_batch():
            pass

    def close(self) -> None:
        """Stop the background thread and send what is left; raise if some could not be sent."""
        with self._wake:
            if self._closing:
                return
            self._closing = True
            self._wake.notify_all()
        self._thread.join()
        try:
            self.flush()
        except InfluxWriteError as err:
            lost = self.totals.pending
            raise InfluxWriteError(
                f"closing with {lost} lines unsent: {err}", status=err.status
            ) from err
        finally:
            self._client.close()

    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self._wake:
                if backoff:
                    self._wake.wait_for(lambda: self._closing, backoff)
                else:
                    self._wake.wait_for(
                        lambda: self._closing or len(self._lines) >= self._batch_lines,
                        self._flush_interval_s,
                    )
                if self._closing:
                    return
            try:
                self.flush()
                backoff = 0.0
            except InfluxWriteError as err:
                backoff = min(self._max_backoff_s, max(0.5, backoff * 2))
                log.warning("InfluxDB write failed, retrying in %.1f s: %s", backoff, err)

    def _send_batch(self) -> bool:
        """Send the head batch; True if one was sent (or given up as malformed)."""
        with self._send_lock:
            with self._wake:
                batch = [self._lines[i] for i in range(min(self._batch_lines, len(self._lines)))]
            if not batch:
                return False
            status = self._post(batch)
            with self._wake:
                # Lines leave only here, from the head, under the send lock: the batch is intact.
                for _ in batch:
                    self._lines.popleft()
                if status == 400:
                    self._rejected += len(batch)
                else:
                    self._written += len(batch)
            return True

    def _post(self, batch: list[str]) -> int:
        body = gzip.compress(("\n".join(batch) + "\n").encode("utf-8"), compresslevel=5)
        try:
            response = self._client.post(
                "/write",
                params=self._params,
                content=body,
                headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"},
            )
        except httpx.HTTPError as err:
            self._count_failure()
            raise InfluxWriteError(f"POST {self.settings.url}/write: {err}") from err
        if response.status_code == 204 or response.is_success:
            return response.status_code
        if response.status_code == 400:
            # Malformed or conflicting lines: sending them again would fail again, forever.
            log.error(
                "InfluxDB refused (some of) %d lines as malformed, not retrying: %s; first: %s",
                len(batch),
                response.text.strip(),
                batch[0],
            )
            return 400
        self._count_failure()
        raise InfluxWriteError(
            f"POST {self.settings.url}/write: HTTP {response.status_code} {response.text.strip()}",
            status=response.status_code,
        )

    def _count_failure(self) -> None:
        with self._wake:
            self._failures += 1
