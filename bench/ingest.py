"""Ingest figures, one JSON line: throughput against mosquitto_sub, latency, session upserts.

Run from the repository root: `python -m bench.ingest [--messages N] [--machines M] ...`.

Everything is real and started here on free loopback ports: Mosquitto (queueing without limit),
InfluxDB 1.x, and a private PostgreSQL (initdb'd in a temp dir) for the ledger.

1. Throughput, in one run: both consumers' persistent sessions are made and left, then
   publisher processes load N QoS 1 telemetry messages from M simulated machines into the
   broker, so each consumer finds the same N waiting. `mosquitto_sub` (the C client) drains its
   copy; then one `officina ingest run` process drains its copy into InfluxDB and the ledger,
   timed from its first message received to InfluxDB having acknowledged N lines (both from
   its /metrics); InfluxDB is then asked once that it holds all N.
   The ratio is ingest's rate over mosquitto_sub's.
2. Latency, live, twice: at `--rate` (5,000 msg/s) and at full load (`--full-rate`, 20,000
   msg/s), each for `--seconds`. Ingest runs with its production flush policy while publisher
   processes send raw QoS 1 PUBLISH packets at the rate, each sample's `ts` the moment it is
   sent. Every sample of a few workshops (`--probe-sites`) is followed: InfluxDB is polled
   every `--poll` seconds for them, and a sample's latency is the time the first answer
   holding it came back minus its `ts` (so it includes up to one poll and one query).
   p50/p99/max over those samples, with the rate the publishers really reached, the most
   messages ingest held unacknowledged, and the CPU share ingest used.
3. Session upserts: `SessionBook.book` with batches of 5,000 new sessions on the private
   PostgreSQL, then the same sessions again (every one a duplicate).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import multiprocessing.queues
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import (
    EndReason,
    MachineState,
    SessionRecord,
    Telemetry,
    TopicKind,
    card_hash,
    decode_payload,
    encode_payload,
)
from harness.influxdb import InfluxServer, start_influxdb
from harness.ingest import IngestProcess
from harness.mosquitto import MosquittoServer
from harness.postgres_private import PrivatePostgres, start_private_postgres
from services.influx import InfluxClient, InfluxSettings
from services.ledger import Bookings, SessionBook, SiteSession

log = logging.getLogger("bench.ingest")
SITE_PREFIX = "site"
FILTER = "officina/v1/+/machines/+/#"
IN_FLIGHT = 20_000
# How long an ingest process may take to start (much longer than it does on a quiet machine).
STARTUP_S = 120
# Latency polls ask for the timed samples from this long before the newest one seen.
CURSOR_SLACK_MS = 2000


def machine_topics(machines: int) -> list[tuple[str, str]]:
    """(site, machine) of each simulated machine: 50 machines per workshop."""
    return [(f"{SITE_PREFIX}-{n // 50:03d}", f"m-{n % 50:02d}") for n in range(machines)]


def bench_sample(i: int, ts: int, seq: int) -> Telemetry:
    """The i-th sample a backlog publisher sends, `seq`-th of its machine, at `ts`."""
    return Telemetry(
        id=f"b-{i}",
        ts=ts,
        seq=seq,
        amps=4.5,
        volts=230.0,
        watts=1035.0,
        wh=seq * 0.3,
        state=MachineState.RUNNING,
    )


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
        sample = bench_sample(i, ts, seq)
        pending.append(client.publish(topics[machine], encode_payload(sample), qos=1))
    for info in pending:
        info.wait_for_publish(120)
        if not info.is_published():
            raise RuntimeError("a sample was not acknowledged by the broker")
    client.disconnect()
    client.loop_stop()


# A telemetry sample as the live publishers send it: %-formatted with id, ts and seq.
LIVE_SAMPLE = (
    b'{"v":1,"id":"live-%d-%d","ts":%d,"seq":%d,"amps":4.5,"volts":230.0,"watts":1035.0,'
    b'"wh":1.5,"state":"running"}'
)
# QoS 1 messages a live publisher sends ahead of the broker's PUBACKs (4 bytes each, so they
# always fit the socket's receive buffer and the broker never blocks writing them).
LIVE_WINDOW = 5000


def mqtt_string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def remaining_length(size: int) -> bytes:
    out = bytearray()
    while True:
        size, digit = divmod(size, 128)
        out.append(digit | (128 if size else 0))
        if not size:
            return bytes(out)


def _publish_live(
    broker: tuple[str, int],
    machines: list[tuple[str, str]],
    count: int,
    rate: float,
    number: int,
    report: multiprocessing.queues.Queue[tuple[float, float]],
) -> None:
    """One live publisher process: `count` samples at `rate`, each stamped as it is sent.

    Raw MQTT 3.1.1 QoS 1 PUBLISH packets on one socket, paced every millisecond or so, so that
    two publishers on a shared two-core machine can offer 20,000 msg/s next to ingest (paho,
    at some 30 µs of Python per message, cannot). Reports the seconds from first send to the
    last PUBACK, and the CPU seconds it used.
    """
    client_id = f"bench-live-{number}-{uuid.uuid4().hex[:6]}"
    body = mqtt_string("MQTT") + bytes([4, 0x02, 0, 0]) + mqtt_string(client_id)
    sock = socket.create_connection(broker)
    sock.sendall(b"\x10" + remaining_length(len(body)) + body)
    if sock.recv(4) != b"\x20\x02\x00\x00":
        raise RuntimeError("the broker refused the live publisher")
    topics = [
        mqtt_string(f"officina/v1/{site}/machines/{machine}/telemetry")
        for site, machine in machines
    ]
    acked_bytes = sent = 0
    started = time.monotonic()
    while acked_bytes < 4 * count:
        due = min(count, int((time.monotonic() - started) * rate) + 1)
        batch = min(due - sent, LIVE_WINDOW - (sent - acked_bytes // 4))
        if batch > 0:
            ts = time.time_ns() // 1_000_000
            packets = []
            for i in range(sent, sent + batch):
                message = (
                    topics[i % len(topics)]
                    + ((i % 65_535) + 1).to_bytes(2, "big")
                    + LIVE_SAMPLE % (number, i, ts, i // len(topics))
                )
                packets.append(b"\x32" + remaining_length(len(message)) + message)
            sock.sendall(b"".join(packets))
            sent += batch
        wait = 0.0 if batch > 0 else (0.001 if sent < count else 0.05)
        if select.select([sock], [], [], wait)[0]:
            data = sock.recv(65_536)
            if not data:
                raise RuntimeError("the broker closed the live publisher's connection")
            acked_bytes += len(data)  # nothing but PUBACKs comes: keepalive is off
    report.put((time.monotonic() - started, time.process_time()))
    sock.sendall(b"\xe0\x00")
    sock.close()


def publish_live(
    broker: MosquittoServer, *, machines: int, total: int, processes: int, rate: float
) -> tuple[list[multiprocessing.Process], multiprocessing.queues.Queue[tuple[float, float]]]:
    """Start live publisher processes for `total` samples at `rate`; they report their seconds."""
    decode_payload(TopicKind.TELEMETRY, LIVE_SAMPLE % (0, 0, 1, 0))  # the bench sends valid data
    names = machine_topics(machines)
    report: multiprocessing.queues.Queue[tuple[float, float]] = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(
            target=_publish_live,
            args=(
                (broker.host, broker.port),
                names[p::processes],
                total // processes,
                rate / processes,
                p,
                report,
            ),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    return workers, report


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


def start_ingest(
    broker: MosquittoServer,
    ledger_url: str,
    influx: InfluxServer,
    log_path: Path,
    *,
    database: str | None = None,
) -> IngestProcess:
    """One `officina ingest run` process with /metrics, flushing as in production."""
    return IngestProcess(
        broker=broker,
        ledger_url=ledger_url,
        influx=influx,
        database=database,
        client_id="bench-ingest",
        log_path=log_path,
        log_level="warning",
    )


def counted(ingest: IngestProcess, name: str) -> float:
    """A counter of /metrics, 0 while it is not served."""
    return ingest.metric(name) or 0.0


def wait_for(check: object, timeout: float, every: float = 0.02) -> float:
    """Poll check() until true; the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return time.monotonic()
        time.sleep(every)
    raise TimeoutError(f"not done in {timeout} s")


class InfluxReader:
    """InfluxQL reads over one kept-alive connection.

    The bench polls InfluxDB every 50 ms while it measures; a fresh HTTP client per query (as
    the test harness makes) builds a TLS context each time, about 60 ms of CPU, which on two
    shared cores would take CPU from what is being measured.
    """

    def __init__(self, influx: InfluxServer) -> None:
        self._clients: dict[str, InfluxClient] = {}
        self._url = influx.url
        self._database = influx.database

    def rows(self, influxql: str, database: str | None = None) -> list[list[object]]:
        """The rows of every series the query answers with."""
        name = database or self._database
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = InfluxClient(InfluxSettings(self._url, name))
        return [
            list(row)
            for result in client.query(influxql)
            for series in cast(list[dict[str, Any]], result.get("series", []))
            for row in series["values"]
        ]

    def points(self, database: str | None = None) -> int:
        """Telemetry points InfluxDB answers with now."""
        rows = self.rows('SELECT count("amps") FROM "telemetry"', database)
        return int(cast(int, rows[0][1])) if rows else 0

    def close(self) -> None:
        """Close the connections."""
        for client in self._clients.values():
            client.close()


def throughput(
    args: argparse.Namespace,
    broker: MosquittoServer,
    influx: InfluxServer,
    ledger_url: str,
    logs: Path,
) -> dict[str, float]:
    """Phase 1: the same backlog drained by mosquitto_sub and by one ingest process."""
    reader = InfluxReader(influx)
    subprocess.run(
        mosquitto_sub(broker, count=None, client_id="bench-sub"), capture_output=True, check=False
    )
    ingest = start_ingest(broker, ledger_url, influx, logs / "ingest-1.log")
    wait_for(lambda: ingest.metric("officina_ingest_backlog_messages") == 0, STARTUP_S)
    ingest.stop(60)
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
    ingest = start_ingest(broker, ledger_url, influx, logs / "ingest-2.log")
    received = "officina_ingest_messages_received_total"
    first = wait_for(lambda: counted(ingest, received) > 0, 60, every=0.005)
    # Done when ingest has had every sample's line acknowledged by InfluxDB, which answers a
    # write once its points are queryable. Asked of ingest's /metrics: counting the points in
    # InfluxDB every 50 ms (a scan of all of them each time) took about half of InfluxDB's CPU
    # from the drain it measured. The written count includes redeliveries, so InfluxDB is asked
    # once at the end whether every sample is there.
    lines = "officina_ingest_influx_lines_written_total"
    last = wait_for(lambda: counted(ingest, lines) >= args.messages, 600, every=0.05)
    ingest_s = last - first
    wait_for(lambda: reader.points() >= args.messages, 60, every=0.5)
    points = reader.points()
    ingest.stop(60)
    reader.close()
    return {
        "messages": args.messages,
        "publish_msgs_per_s": round(args.messages / publish_s),
        "mosquitto_sub_msgs_per_s": round(args.messages / sub_s),
        "ingest_msgs_per_s": round(args.messages / ingest_s),
        "ratio": round(sub_s / ingest_s, 3),
        "influx_points": points,
    }


def probe_sites(machines: int, sites: int) -> list[str]:
    """The workshops whose samples are followed into InfluxDB (every sample of each)."""
    return sorted({site for site, _ in machine_topics(machines)})[:sites]


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_of(config: Path) -> list[int]:
    """The processes started with a config file (the broker's, InfluxDB's)."""
    found = subprocess.run(["pgrep", "-f", str(config)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def cpu_times() -> tuple[int, int]:
    """The machine's CPU time so far, in clock ticks: (busy, total)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def latency(
    args: argparse.Namespace,
    broker: MosquittoServer,
    influx: InfluxServer,
    ledger_url: str,
    logs: Path,
    *,
    rate: float,
) -> dict[str, object]:
    """Phase 2: publish-to-queryable latency while publishers send `rate` msg/s live."""
    reader = InfluxReader(influx)
    live = f"bench_live_{int(rate)}"
    influx.create_database(live)
    ingest = start_ingest(
        broker, ledger_url, influx, logs / f"ingest-live-{int(rate)}.log", database=live
    )
    wait_for(lambda: ingest.metric("officina_ingest_backlog_messages") == 0, STARTUP_S)
    total = int(rate * args.seconds)
    total -= total % args.publishers
    sites = probe_sites(args.machines, args.probe_sites)
    where = "site =~ /^(" + "|".join(sites) + ")$/"
    expected = expected_probes(args.machines, total, args.publishers, set(sites))
    seen: dict[tuple[str, str, int], float] = {}
    cursor = int(time.time() * 1000) - 1000
    backlog_max = 0.0
    parts = {
        "ingest": [ingest.pid],
        "broker": pids_of(broker.config_path),
        "influxdb": pids_of(influx.config_path),
    }
    cpu_before = {part: sum(map(cpu_seconds, pids)) for part, pids in parts.items()}
    machine_before = cpu_times()
    started = time.monotonic()
    workers, report = publish_live(
        broker, machines=args.machines, total=total, processes=args.publishers, rate=rate
    )
    deadline = time.monotonic() + args.seconds + 300
    next_scrape = time.monotonic()
    while len(seen) < expected and time.monotonic() < deadline:
        rows = reader.rows(
            f'SELECT amps, machine, site FROM "telemetry" WHERE {where} AND time > {cursor}ms',
            live,
        )
        answered = time.time() * 1000
        for sent, _amps, machine_id, site in rows:
            key = (str(site), str(machine_id), int(str(sent)))
            if key not in seen:
                seen[key] = answered
        if seen:
            # Samples arrive in publish order, give or take the publishers' interleaving: ask
            # only for the last seconds, so that polling stays light next to the load.
            cursor = max(key[2] for key in seen) - CURSOR_SLACK_MS
        if time.monotonic() >= next_scrape:  # /metrics costs ingest CPU: not every poll
            backlog_max = max(backlog_max, counted(ingest, "officina_ingest_backlog_messages"))
            next_scrape = time.monotonic() + 0.5
        time.sleep(args.poll)
    reports = [report.get(timeout=60) for _ in workers]
    publish_s = max(seconds for seconds, _ in reports)
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    cpu = {
        part: round((sum(map(cpu_seconds, pids)) - cpu_before[part]) / elapsed, 2)
        for part, pids in parts.items()
    }
    cpu["publishers"] = round(sum(used for _, used in reports) / elapsed, 2)
    busy, ticks = (now - before for now, before in zip(cpu_times(), machine_before, strict=True))
    # Anything the polls missed (it fell behind the cursor) counts from now: an upper bound.
    late = 0
    final = time.time() * 1000
    for sent, _amps, machine_id, site in reader.rows(
        f'SELECT amps, machine, site FROM "telemetry" WHERE {where}', live
    ):
        key = (str(site), str(machine_id), int(str(sent)))
        if key not in seen:
            seen[key] = final
            late += 1
    try:  # the other workshops' samples too, so that the count below is the whole story
        wait_for(lambda: reader.points(live) >= total, 300, every=0.5)
    except TimeoutError:
        log.warning("InfluxDB holds fewer points than were published")
    points = reader.points(live)
    ingest.stop(60)
    reader.close()
    latencies = sorted(at - key[2] for key, at in seen.items())
    return {
        "rate_msgs_per_s": rate,
        "published_msgs_per_s": round(total / publish_s),
        "points": points,
        "messages": total,
        "probes": len(latencies),
        "probes_expected": expected,
        "probes_late": late,
        "p50_ms": round(statistics.median(latencies)),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)]),
        "max_ms": round(latencies[-1]),
        "ingest_backlog_max": backlog_max,
        # Until the last timed sample was queryable: the CPUs' worth each part used, and how
        # busy all the CPUs were (everything on the machine, other work too; 1.0: all of them).
        "cpu": cpu,
        "machine_busy": round(busy / ticks, 2),
    }


def expected_probes(machines: int, total: int, publishers: int, sites: set[str]) -> int:
    """How many of the live samples go to the probe workshops' machines."""
    names = machine_topics(machines)
    count = 0
    for p in range(publishers):
        share = names[p::publishers]
        per_round = sum(1 for site, _ in share if site in sites)
        rounds, rest = divmod(total // publishers, len(share))
        count += rounds * per_round + sum(1 for site, _ in share[:rest] if site in sites)
    return count


def session_upserts(ledger_url: str, count: int) -> dict[str, float]:
    """Phase 3: new sessions, then the same again, booked in batches of 5,000."""
    ledger = SessionBook.open(ledger_url)
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
    parser.add_argument(
        "--full-rate", type=float, default=20_000, help="the second, full-load live rate, msg/s"
    )
    parser.add_argument("--seconds", type=float, default=20, help="of each live run")
    parser.add_argument(
        "--probe-sites", type=int, default=4, help="workshops whose every sample is timed"
    )
    parser.add_argument("--poll", type=float, default=0.05, help="InfluxDB poll pause, s")
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
                for key, rate in (("latency", args.rate), ("latency_full", args.full_rate)):
                    result[key] = latency(args, broker, influx, ledger_url, workdir, rate=rate)
            result["ledger"] = session_upserts(ledger_url, args.sessions)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
