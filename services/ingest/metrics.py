"""`/metrics` in the Prometheus text format, from ingest's counters, gauges and one histogram.

Which counter becomes which metric is a table (`COUNTER_METRICS`), so adding one is adding a row.
The server is the standard library's threading HTTP server on a port of the operator's choice.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from services.ingest.counters import Counters
from services.ingest.errors import IngestError

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BATCH_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# A batch's way from its first message to its acknowledgement, stage by stage, and the time the
# network thread waited for room (holding max_unacked). What each stage's time is spent on:
BATCH_STAGES = {
    "filling": "first message received to the batch closed (full, or its flush interval)",
    "queued": "closed to taken by the booker",
    "ledger": "the ledger transaction, to committed",
    "influxdb": "the InfluxDB write, to written",
    "acknowledging": "both stores done to acknowledged (waiting for earlier batches)",
    "held": "the network thread waiting for room while holding max_unacked (not per batch)",
}


@dataclass(frozen=True, slots=True)
class CounterMetric:
    """How one ingest counter (or a family with a common prefix) is exposed."""

    counter: str
    metric: str
    help: str
    labels: Mapping[str, str] | None = None
    # When set, `counter` is a prefix and the rest of the name is this label's value.
    label_from_suffix: str | None = None


_WRITTEN = "officina_ingest_messages_written_total"
_WRITTEN_HELP = "Messages made durable in InfluxDB and the ledger, and acknowledged, by kind."
_DUPLICATE = "officina_ingest_messages_duplicate_total"
_DUPLICATE_HELP = "Messages delivered again and booked once, by kind."
COUNTER_METRICS = (
    CounterMetric("received", "officina_ingest_messages_received_total", "Messages received."),
    CounterMetric(
        "left_with_broker",
        "officina_ingest_messages_left_with_broker_total",
        "Deliveries left unacknowledged with the broker while ingest held max_unacked.",
    ),
    CounterMetric(
        "rejected.",
        "officina_ingest_messages_rejected_total",
        "Messages rejected and kept as dead letters, by the field that was wrong.",
        label_from_suffix="field",
    ),
    CounterMetric("telemetry", _WRITTEN, _WRITTEN_HELP, {"kind": "telemetry"}),
    CounterMetric("states", _WRITTEN, _WRITTEN_HELP, {"kind": "state"}),
    CounterMetric("sessions_booked", _WRITTEN, _WRITTEN_HELP, {"kind": "session"}),
    CounterMetric("badges_booked", _WRITTEN, _WRITTEN_HELP, {"kind": "badge"}),
    CounterMetric("gateway_status", _WRITTEN, _WRITTEN_HELP, {"kind": "gateway_status"}),
    CounterMetric("sessions_duplicate", _DUPLICATE, _DUPLICATE_HELP, {"kind": "session"}),
    CounterMetric("badges_duplicate", _DUPLICATE, _DUPLICATE_HELP, {"kind": "badge"}),
    CounterMetric(
        "session_conflicts",
        "officina_ingest_session_conflicts_total",
        "Sessions delivered again with another body: the first booking stands, the copy is kept.",
    ),
    CounterMetric(
        "sessions_held",
        "officina_ingest_sessions_held_total",
        "Sessions booked but held from billing: their member is not in the registry.",
    ),
    CounterMetric(
        "states_stale",
        "officina_ingest_states_stale_total",
        "State changes older than the machine's stored state.",
    ),
    CounterMetric(
        "ignored", "officina_ingest_messages_ignored_total", "Messages not for ingest (acl)."
    ),
    CounterMetric(
        "influx_lines",
        "officina_ingest_influx_lines_written_total",
        "Lines of line protocol InfluxDB took.",
    ),
    CounterMetric("batches", "officina_ingest_batches_total", "Batches booked and acknowledged."),
    CounterMetric(
        "failed.",
        "officina_ingest_store_failures_total",
        "Failed attempts to write a store (each is retried), by store.",
        label_from_suffix="store",
    ),
)


class Histogram:
    """A Prometheus histogram with fixed buckets; safe to observe from any thread."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self._lock = threading.Lock()
        self._counts = [0] * (len(buckets) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        """Count one observation."""
        with self._lock:
            self._counts[bisect.bisect_left(self.buckets, value)] += 1
            self._sum += value

    def snapshot(self) -> tuple[list[int], float]:
        """Cumulative counts per bucket (the last is +Inf) and the sum."""
        with self._lock:
            running, cumulative = 0, []
            for count in self._counts:
                running += count
                cumulative.append(running)
            return cumulative, self._sum


class Stages:
    """Seconds spent in each stage of a batch's way (`BATCH_STAGES`): a sum and a count each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums = dict.fromkeys(BATCH_STAGES, 0.0)
        self._counts = dict.fromkeys(BATCH_STAGES, 0)

    def observe(self, stage: str, seconds: float) -> None:
        """Count one stage of one batch (or one wait for room)."""
        with self._lock:
            self._sums[stage] += max(0.0, seconds)
            self._counts[stage] += 1

    def snapshot(self) -> dict[str, tuple[float, int]]:
        """Per stage: (seconds in all, times observed)."""
        with self._lock:
            return {stage: (self._sums[stage], self._counts[stage]) for stage in BATCH_STAGES}


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestMetrics:
    """Everything /metrics shows: counters, the batch histogram and live gauges."""

    counters: Counters
    intake_counts: Callable[[], Mapping[str, int]]
    batch_seconds: Histogram
    stages: Stages
    backlog: Callable[[], int]
    stores_up: Callable[[], Mapping[str, bool]]


def _label_text(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    escaped = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in sorted(labels.items())
    )
    return "{" + ",".join(escaped) + "}"


def _counter_samples(counts: Mapping[str, int]) -> Iterator[tuple[str, str, str]]:
    """(metric, help, sample line) for every counter in the table."""
    for row in COUNTER_METRICS:
        if row.label_from_suffix is None:
            value = counts.get(row.counter, 0)
            yield row.metric, row.help, f"{row.metric}{_label_text(row.labels or {})} {value}"
            continue
        for name in sorted(counts):
            if name.startswith(row.counter) and len(name) > len(row.counter):
                labels = {row.label_from_suffix: name[len(row.counter) :]}
                yield row.metric, row.help, f"{row.metric}{_label_text(labels)} {counts[name]}"


def render(metrics: IngestMetrics) -> str:
    """The metrics in the Prometheus text exposition format (version 0.0.4)."""
    out: list[str] = []
    seen: set[str] = set()
    counts = {**metrics.counters.snapshot(), **metrics.intake_counts()}
    for metric, help_text, sample in _counter_samples(counts):
        if metric not in seen:
            seen.add(metric)
            out += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter"]
        out.append(sample)
    name = "officina_ingest_batch_seconds"
    cumulative, total = metrics.batch_seconds.snapshot()
    out += [
        f"# HELP {name} Time from a batch's first message to its acknowledgement.",
        f"# TYPE {name} histogram",
    ]
    for bound, count in zip(metrics.batch_seconds.buckets, cumulative, strict=False):
        out.append(f'{name}_bucket{{le="{bound:g}"}} {count}')
    out += [
        f'{name}_bucket{{le="+Inf"}} {cumulative[-1]}',
        f"{name}_sum {total!r}",
        f"{name}_count {cumulative[-1]}",
    ]
    name = "officina_ingest_batch_stage_seconds"
    out += [
        f"# HELP {name} Seconds batches spent in each stage: "
        + "; ".join(f"{stage}: {what}" for stage, what in BATCH_STAGES.items())
        + ".",
        f"# TYPE {name} summary",
    ]
    for stage, (seconds, count) in metrics.stages.snapshot().items():
        label = _label_text({"stage": stage})
        out += [f"{name}_sum{label} {seconds!r}", f"{name}_count{label} {count}"]
    out += [
        "# HELP officina_ingest_backlog_messages Messages received and not yet acknowledged.",
        "# TYPE officina_ingest_backlog_messages gauge",
        f"officina_ingest_backlog_messages {metrics.backlog()}",
        "# HELP officina_ingest_store_up Whether the last write to a store succeeded.",
        "# TYPE officina_ingest_store_up gauge",
    ]
    for store, up in sorted(metrics.stores_up().items()):
        out.append(f"officina_ingest_store_up{_label_text({'store': store})} {int(up)}")
    return "\n".join(out) + "\n"


class MetricsServer:
    """Serves GET /metrics from a background thread; port 0 takes a free one."""

    def __init__(self, metrics: IngestMetrics, *, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = _handler_for(metrics)
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as err:
            raise IngestError(f"metrics on {host}:{port}: {err}") from err
        self._server.daemon_threads = True
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ingest-metrics", daemon=True
        )

    def __enter__(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_for(metrics: IngestMetrics) -> type[BaseHTTPRequestHandler]:
    class MetricsHandler(BaseHTTPRequestHandler):
        """Answers /metrics; everything else is 404."""

        def do_GET(self) -> None:
            """Serve the metrics."""
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404, "only /metrics is served here")
                return
            body = render(metrics).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds would drown the log; say nothing."""

    return MetricsHandler
