"""Ingest figures, one JSON line: throughput against mosquitto_sub, latency, session upserts.

Run from the repository root: `python bench/ingest.py [--messages N] [--machines M] ...`.

Everything is real and started here on free loopback ports: Mosquitto (queueing without limit),
InfluxDB 1.x, and a private PostgreSQL (initdb'd in a temp dir) for the ledger.

1. Throughput, in one run: both consumers' persistent sessions are made and left, then
   publisher processes load N QoS 1 telemetry messages from M simulated machines into the
   broker, so each consumer finds the same N waiting. `mosquitto_sub` (the C client) drains its
   copy; then one `officina ingest run` process drains its copy into InfluxDB and the ledger,
   timed from its first message received (its /metrics) to InfluxDB answering with all N.
   The ratio is ingest's rate over mosquitto_sub's.
2. Latency, live: ingest running, publishers send at a fixed rate with each sample's `ts` the
   moment it was published; InfluxDB is polled every 50 ms for how many points are queryable.
   Delivery keeps publish order, so the i-th published sample is queryable at the first poll
   that counts i points: publish-to-queryable latency, p50 and p99 (50 ms resolution).
3. Session upserts: `Ledger.book` with batches of 5,000 new sessions on the private
   PostgreSQL, then the same sessions again (every one a duplicate).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import EndReason, MachineState, SessionRecord, Telemetry, card_hash, encode_payload
from services.ledger import Bookings, Ledger, SiteSession
from tests.harness.influxdb import InfluxServer, start_influxdb
from tests.harness.mosquitto import MosquittoServer
from tests.harness.ports import free_port
from tests.harness.postgres_private import PrivatePostgres, start_private_postgres

log = logging.getLogger("bench.ingest")
SITE_PREFIX = "site"
FILTER = "officina/v1/+/machines/+/#"
IN_FLIGHT = 20_000
REPO = Path(__file__).resolve().parents[1]


def machine_topics(machines: int) -> list[tuple[str, str]]:
    """(site, machine) of each simulated machine: 50 machines per workshop."""
    return [(f"{SITE_PREFIX}-{n // 50:03d}", f"m-{n % 50:02d}") for n in range(machines)]


def _publish(
    broker: tuple[str, int], machines: list[tuple[str, str]], count: int, rate: float, t0: int
) -> None:
    """One publisher process: `count` samples round-robin over its machines (rate 0: flat out)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(*broker)
    client.loop_start()
    topics = [f"officina/v1/{site}/machines/{machine}/telemetry" for site, machine in machines]
    started = time.monotonic()
    pending: list[mqtt.MQTTMessageInfo] = []
    for i in range(count):
        if rate and i % 50 == 0:
            due = started + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        if len(pending) >= IN_FLIGHT:
            # paho reuses packet ids after 65,535: never queue that many at once.
            for info in pending:
                info.wait_for_publish(120)
            pending.clear()
        machine = i % len(topics)
        seq = i // len(topics)
        # Live runs stamp the publish moment; backlog runs a distinct past second per sample.
        ts = time.time_ns() // 1_000_000 if rate else t0 + seq * 1000
        sample = Telemetry(
            id=f"b-{i}",
            ts=ts,
            seq=seq,
            amps=4.5,
            volts=230.0,
            watts=1035.0,
            wh=seq * 0.3,
            state=MachineState.RUNNING,
        )
        pending.append(client.publish(topics[machine], encode_payload(sample), qos=1))
    for info in pending:
        info.wait_for_publish(120)
        if not info.is_published():
            raise RuntimeError("a sample was not acknowledged by the broker")
    client.disconnect()
    client.loop_stop()


def publish(
    broker: MosquittoServer, *, machines: int, total: int, processes: int, rate: float
) -> float:
    """Publish `total` samples from `processes` publisher processes; seconds it took."""
    names = machine_topics(machines)
    shares = [names[p::processes] for p in range(processes)]
    t0 = (int(time.time()) - 86_400) * 1000
    started = time.perf_counter()
    workers = [
        multiprocessing.Process(
            target=_publish,
            args=(
                (broker.host, broker.port),
                shares[p],
                total // processes,
                rate / processes,
                t0 + p,
            ),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def start_broker(workdir: Path) -> MosquittoServer:
    """Mosquitto that queues without limit for clients that are away."""
    server = MosquittoServer(workdir=workdir)
    with server.config_path.open("a") as config:
        config.write("max_queued_messages 0\n")
    server.start()
    return server


def mosquitto_sub(broker: MosquittoServer, *, count: int | None, client_id: str) -> list[str]:
    """The mosquitto_sub command line for a persistent MQTT 5 session."""
    command = [
        shutil.which("mosquitto_sub") or "mosquitto_sub",
        "-h",
        broker.host,
        "-p",
        str(broker.port),
        "-V",
        "5",
        "-c",
        "-x",
        "3600",
        "-i",
        client_id,
        "-q",
        "1",
        "-t",
        FILTER,
    ]
    return [*command, "-C", str(count)] if count else [*command, "-W", "1"]


class IngestRun:
    """One `officina ingest run` process with /metrics."""

    def __init__(
        self,
        broker: MosquittoServer,
        ledger_url: str,
        influx: InfluxServer,
        log_path: Path,
        *,
        database: str | None = None,
    ) -> None:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "officina",
            "ingest",
            "run",
            "--broker",
            f"mqtt://{broker.host}:{broker.port}",
            "--ledger",
            ledger_url,
            "--influx-url",
            influx.url,
            "--influx-db",
            database or influx.database,
            "--client-id",
            "bench-ingest",
            "--metrics-port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT
        )

    def metric(self, name: str) -> float:
        """A sample of /metrics, or -1 while it does not answer."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return -1.0
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self) -> None:
        """SIGTERM and wait."""
        self.process.terminate()
        self.process.wait(60)
        self._log.close()


def wait_for(check: object, timeout: float, every: float = 0.02) -> float:
    """Poll check() until true; the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return time.monotonic()
        time.sleep(every)
    raise TimeoutError(f"not done in {timeout} s")


def influx_points(influx: InfluxServer, database: str | None = None) -> int:
    """Telemetry points InfluxDB answers with now."""
    series = influx.query('SELECT count("amps") FROM "telemetry"', database=database)
    return int(series[0].values[0][1]) if series else 0  # type: ignore[call-overload]


def throughput(
    args: argparse.Namespace,
    broker: MosquittoServer,
    influx: InfluxServer,
    ledger_url: str,
    logs: Path,
) -> dict[str, float]:
    """Phase 1: the same backlog drained by mosquitto_sub and by one ingest process."""
    subprocess.run(
        mosquitto_sub(broker, count=None, client_id="bench-sub"), capture_output=True, check=False
    )
    ingest = IngestRun(broker, ledger_url, influx, logs / "ingest-1.log")
    wait_for(lambda: ingest.metric("officina_ingest_backlog_messages") == 0, 30)
    ingest.stop()
    publish_s = publish(
        broker, machines=args.machines, total=args.messages, processes=args.publishers, rate=0
    )
    started = time.perf_counter()
    subprocess.run(
        mosquitto_sub(broker, count=args.messages, client_id="bench-sub"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
    )
    sub_s = time.perf_counter() - started
    ingest = IngestRun(broker, ledger_url, influx, logs / "ingest-2.log")
    received = "officina_ingest_messages_received_total"
    first = wait_for(lambda: ingest.metric(received) > 0, 60, every=0.005)
    # Done when InfluxDB answers with every sample (the written count includes redeliveries).
    last = wait_for(lambda: influx_points(influx) >= args.messages, 600, every=0.05)
    ingest_s = last - first
    points = influx_points(influx)
    ingest.stop()
    return {
        "messages": args.messages,
        "publish_msgs_per_s": round(args.messages / publish_s),
        "mosquitto_sub_msgs_per_s": round(args.messages / sub_s),
        "ingest_msgs_per_s": round(args.messages / ingest_s),
        "ratio": round(sub_s / ingest_s, 3),
        "influx_points": points,
    }


def latency(
    args: argparse.Namespace,
    broker: MosquittoServer,
    influx: InfluxServer,
    ledger_url: str,
    logs: Path,
) -> dict[str, float]:
    """Phase 2: publish-to-queryable latency at a fixed rate."""
    live = "bench_live"
    influx.create_database(live)
    ingest = IngestRun(broker, ledger_url, influx, logs / "ingest-3.log", database=live)
    wait_for(lambda: ingest.metric("officina_ingest_backlog_messages") == 0, 30)
    total = int(args.rate * args.seconds)
    polls: list[tuple[float, int]] = []
    publisher = multiprocessing.get_context("fork").Process(
        target=lambda: publish(
            broker, machines=args.machines, total=total, processes=args.publishers, rate=args.rate
        )
    )
    publisher.start()
    while True:
        count = influx_points(influx, live)
        polls.append((time.time() * 1000, count))
        if count >= total - total % args.publishers:
            break
        time.sleep(0.05)
    publisher.join()
    ingest.stop()
    published = sorted(
        int(str(row[0]))
        for series in influx.query('SELECT amps FROM "telemetry"', database=live)
        for row in series.values
    )
    latencies, at = [], 0
    for i, sent in enumerate(published):
        while polls[at][1] < i + 1 and at < len(polls) - 1:
            at += 1
        latencies.append(polls[at][0] - sent)
    latencies.sort()
    return {
        "rate_msgs_per_s": args.rate,
        "samples": len(published),
        "p50_ms": round(statistics.median(latencies)),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1]),
        "max_ms": round(latencies[-1]),
    }


def session_upserts(ledger_url: str, count: int) -> dict[str, float]:
    """Phase 3: new sessions, then the same again, booked in batches of 5,000."""
    ledger = Ledger.open(ledger_url)
    card = card_hash("04A1B2C3", b"bench")
    start = (int(time.time()) - 86_400) * 1000
    records = [
        SiteSession(
            f"{SITE_PREFIX}-{i % 400:03d}",
            SessionRecord(
                id=str(uuid.uuid4()),
                ts=start + i,
                machine=f"m-{i % 50:02d}",
                member=f"member-{i % 997}",
                card=card,
                started=start + i,
                ended=start + i + 60_000,
                unlocked_s=60.0,
                running_s=50.0,
                idle_s=10.0,
                energy_wh=120.0,
                end_reason=EndReason.BADGE_OUT,
                clock_ok=True,
            ),
        )
        for i in range(count)
    ]
    figures: dict[str, float] = {}
    for label in ("new", "repeated"):
        started = time.perf_counter()
        for at in range(0, count, 5000):
            ledger.book(Bookings(sessions=records[at : at + 5000]))
        figures[f"session_upserts_{label}_per_s"] = round(count / (time.perf_counter() - started))
    ledger.close()
    return figures


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


@contextmanager
def servers(workdir: Path) -> Iterator[tuple[MosquittoServer, InfluxServer, PrivatePostgres]]:
    """Mosquitto, InfluxDB and a private PostgreSQL, stopped afterwards."""
    with ExitStack() as stack:
        broker = start_broker(workdir / "mosquitto")
        stack.callback(broker.stop)
        influx = start_influxdb(workdir=workdir / "influxdb", database="bench")
        stack.callback(influx.stop)
        postgres = start_private_postgres()
        stack.callback(postgres.remove)
        yield broker, influx, postgres


def main() -> None:
    """Run the three phases and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--machines", type=int, default=20_000)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=5_000, help="live publish rate, msg/s")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # SIGTERM unwinds like Ctrl-C, so the servers started here are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="officina-bench-"))
    try:
        with servers(workdir) as (broker, influx, postgres):
            ledger_url = postgres.create_database("bench")
            result: dict[str, object] = {"machine": machine()}
            result["throughput"] = throughput(args, broker, influx, ledger_url, workdir)
            if not args.skip_latency:
                result["latency"] = latency(args, broker, influx, ledger_url, workdir)
            result["ledger"] = session_upserts(ledger_url, args.sessions)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
