"""Ingest against what a workshop would run instead, one JSON line: Node-RED and InfluxDB's ceiling.

Run from the repository root: `python -m bench.peers [--messages N] [--rounds R] [--quick] ...`.

The usual alternative to officina is Mosquitto → Node-RED → InfluxDB. Everything here is real and
on free loopback ports: one Mosquitto (queueing without limit), one InfluxDB 1.x and a private
PostgreSQL (officina's ledger), shared by every consumer. Node-RED (`NODE_RED_VERSION`, with
node-red-contrib-influxdb `INFLUX_NODE_VERSION`) is installed by this script with npm into a cache
directory (`--cache`, default `~/.cache/officina-bench/node-red`); where npm is absent its rounds
are skipped with a message saying so.

Consumers, each with a persistent session of its own and a fresh InfluxDB database each round:
- `officina`: one `officina ingest run` process (ledger on PostgreSQL, acks after both stores);
- `nodered_join`: `mqtt in` (QoS 1) → a function node making the point → a `join` node (5,000
  messages or 1 s) → `influxdb batch`: the flow a careful integrator builds;
- `nodered_per_message`: the same without the `join` node, every message its own write: the flow
  most tutorials show. It is run on a smaller backlog (`--per-message-size`), which it survives;
- `influxdb_ceiling`: no broker at all: this script POSTs the same points officina writes, as
  line protocol from memory, in 5,000-line bodies from two writer threads, in the order the
  consumers receive them: the two publishers' messages side by side, so that a body holds
  samples of all the machines, as each of officina's batches does;
- `influxdb_ceiling_per_publisher`: the same points with each publisher's in a run of their own,
  a body holding half the machines, twice as many samples of each: InfluxDB takes these for
  about a third less CPU a point (fewer series a write), so this is a ceiling no consumer of
  the broker's order can reach; shown for comparison with earlier runs, which used it.

Each round publishes `--messages` QoS 1 telemetry messages once; they wait in the broker for the
`officina` and `nodered_join` sessions, which drain them in turn; the order of the consumers
rotates from round to round, and each starts once InfluxDB and the broker are at rest (InfluxDB
snapshots and compacts a round's writes in the background). Every consumer is timed the same way:
from the first message it received (polled from its own counter: ingest's /metrics, a counter the
Node-RED flow keeps and serves over HTTP) to InfluxDB having acknowledged the N-th point
(InfluxDB's own count of points written over HTTP, `/debug/vars`, polled every 20 ms); the ceilings
too, from their first POST to the same count (each poll costs InfluxDB and this script about a
millisecond of CPU, and every round pays it alike). A consumer that makes no progress for `--stall`
seconds is stopped where it is. Then: the points InfluxDB holds, so the messages lost; the
consumer's CPU seconds over the drain (user + system, /proc) and its peak RSS (VmHWM).

The crash round (`--crash-size` messages, 20,000): each broker consumer starts on its backlog,
is killed with SIGKILL once it has received a quarter of it, is started again on the same
session, and drains the rest; the messages missing from InfluxDB are what it lost.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import (
    InfluxReader,
    bench_sample,
    cpu_seconds,
    machine,
    machine_topics,
    pids_of,
    publish,
    start_broker,
    wait_for,
)
from harness.influxdb import InfluxServer, start_influxdb
from harness.ingest import IngestProcess
from harness.mosquitto import MosquittoServer
from harness.ports import LOOPBACK, free_port
from harness.postgres_private import start_private_postgres
from services.ingest.metrics import BATCH_STAGES
from services.ingest.schema import TELEMETRY, series_key, telemetry_line

log = logging.getLogger("bench.peers")

NODE_RED_VERSION = "4.1.8"
INFLUX_NODE_VERSION = "0.7.0"
DEFAULT_CACHE = Path.home() / ".cache" / "officina-bench" / "node-red"
# ingest's subscription, and the telemetry filter the Node-RED flows subscribe to.
INGEST_FILTER = "officina/v1/+/machines/+/#"
FLOW_FILTER = "officina/v1/+/machines/+/telemetry"
CEILING_BATCH = 5_000
CEILING_WRITERS = 2
POLL_S = 0.02
STARTUP_S = 120
# A round starts once InfluxDB and the broker together use under QUIET_SHARE of a core over
# QUIET_WINDOW_S, or after QUIET_LIMIT_S.
QUIET_SHARE, QUIET_WINDOW_S, QUIET_LIMIT_S = 0.05, 1.0, 60


# --- Node-RED ------------------------------------------------------------------------------


def install_node_red(cache: Path) -> Path | None:
    """node-red and node-red-contrib-influxdb, pinned, in `cache`; None (and why) without npm."""
    red = cache / "node_modules" / "node-red" / "red.js"
    influx_node = cache / "node_modules" / "node-red-contrib-influxdb" / "package.json"
    if red.exists() and influx_node.exists():
        return red
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        log.warning("npm or node not found: the Node-RED rounds are skipped")
        return None
    cache.mkdir(parents=True, exist_ok=True)
    package = cache / "package.json"
    if not package.exists():
        package.write_text('{"name": "officina-bench-node-red", "private": true}\n')
    log.warning("installing node-red %s into %s (once)", NODE_RED_VERSION, cache)
    subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--omit=dev",
            f"node-red@{NODE_RED_VERSION}",
            f"node-red-contrib-influxdb@{INFLUX_NODE_VERSION}",
        ],
        cwd=cache,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return red


# Made for each message: the point, and a counter the bench reads (first message, how many).
_POINT_FUNCTION = """\
let b = global.get('bench');
if (!b) { b = {first: Date.now(), n: 0}; }
b.n += 1;
global.set('bench', b);
const p = msg.payload;
const t = msg.topic.split('/');
const point = {
  measurement: 'telemetry',
  tags: {site: t[2], machine: t[4]},
  fields: {amps: p.amps, volts: p.volts, watts: p.watts, wh: p.wh, state: p.state, seq: p.seq},
  timestamp: p.ts,
};
msg.payload = %s;
return msg;
"""


def node_red_flow(
    *, broker: MosquittoServer, influx: InfluxServer, database: str, client_id: str, join: bool
) -> list[dict[str, Any]]:
    """The flow: mqtt in → point → (join →) influxdb batch, and GET /bench for the counter."""
    after_point = "join" if join else "batch"
    nodes: list[dict[str, Any]] = [
        {"id": "tab", "type": "tab", "label": "bench"},
        {
            "id": "broker",
            "type": "mqtt-broker",
            "broker": broker.host,
            "port": str(broker.port),
            "clientid": client_id,
            "autoConnect": True,
            "usetls": False,
            "protocolVersion": "4",
            "keepalive": "60",
            "cleansession": False,
            "autoUnsubscribe": False,
        },
        {
            "id": "influx",
            "type": "influxdb",
            "hostname": LOOPBACK,
            "port": str(influx.url.rsplit(":", 1)[1]),
            "protocol": "http",
            "database": database,
            "influxdbVersion": "1.x",
            "usetls": False,
            "timeout": "10",
        },
        {
            "id": "in",
            "type": "mqtt in",
            "z": "tab",
            "topic": FLOW_FILTER,
            "qos": "1",
            "datatype": "json",
            "broker": "broker",
            "nl": False,
            "rap": False,
            "inputs": 0,
            "wires": [["point"]],
        },
        {
            "id": "point",
            "type": "function",
            "z": "tab",
            "func": _POINT_FUNCTION % ("point" if join else "[point]"),
            "outputs": 1,
            "wires": [[after_point]],
        },
        {
            "id": "batch",
            "type": "influxdb batch",
            "z": "tab",
            "influxdb": "influx",
            "precision": "ms",
            "retentionPolicy": "",
            "wires": [],
        },
        {"id": "http", "type": "http in", "z": "tab", "url": "/bench", "method": "get"}
        | {"wires": [["count"]]},
        {
            "id": "count",
            "type": "function",
            "z": "tab",
            "func": "msg.payload = global.get('bench') || {first: 0, n: 0};\nreturn msg;",
            "outputs": 1,
            "wires": [["answer"]],
        },
        {"id": "answer", "type": "http response", "z": "tab", "wires": []},
    ]
    if join:
        nodes.append(
            {
                "id": "join",
                "type": "join",
                "z": "tab",
                "mode": "custom",
                "build": "array",
                "property": "payload",
                "propertyType": "msg",
                "key": "topic",
                "joiner": "\\n",
                "joinerType": "str",
                "accumulate": False,
                "timeout": "1",
                "count": str(CEILING_BATCH),
                "useparts": False,
                "wires": [["batch"]],
            }
        )
    # Node-RED tells a flow node from a config node by its place on the canvas.
    for place, node in enumerate(nodes):
        if "z" in node:
            node |= {"x": 100 + 150 * place, "y": 100}
    return nodes


class NodeRedProcess:
    """One Node-RED process running a bench flow, with its counter on a free port."""

    def __init__(self, red: Path, userdir: Path, flow: list[dict[str, Any]], log_path: Path):
        userdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        (userdir / "flows.json").write_text(json.dumps(flow))
        # No secret: the (empty) InfluxDB credentials are kept as plain JSON.
        (userdir / "flows_cred.json").write_text(
            json.dumps({"influx": {"username": "", "password": ""}})
        )
        (userdir / "settings.js").write_text(
            "module.exports = {\n"
            f"  uiPort: {self.port}, uiHost: '{LOOPBACK}',\n"
            "  httpAdminRoot: false, httpNodeRoot: '/', flowFile: 'flows.json',\n"
            "  credentialSecret: false, telemetry: {enabled: false},\n"
            "  diagnostics: {enabled: false}, runtimeState: {enabled: false},\n"
            "  logging: {console: {level: 'warn', metrics: false, audit: false}},\n"
            "};\n"
        )
        self._http = httpx.Client(timeout=2.0)
        with log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    shutil.which("node") or "node",
                    str(red),
                    "--userDir",
                    str(userdir),
                    "--settings",
                    str(userdir / "settings.js"),
                ],
                cwd=userdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def _counter(self) -> dict[str, Any]:
        try:
            answer = self._http.get(f"http://{LOOPBACK}:{self.port}/bench").json()
        except (httpx.HTTPError, ValueError):
            return {}
        return answer if isinstance(answer, dict) else {}

    def received(self) -> int:
        """Messages the flow has taken so far (0 while Node-RED does not answer)."""
        return int(self._counter().get("n", 0))

    def first_wall(self) -> float:
        """When the flow took its first message (wall clock, s)."""
        return float(self._counter().get("first", 0)) / 1000

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        self._http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- measuring -------------------------------------------------------------------------------


class InfluxAcks:
    """Points InfluxDB has acknowledged over HTTP since it started (its /debug/vars)."""

    def __init__(self, influx: InfluxServer) -> None:
        self._client = httpx.Client(base_url=influx.url, timeout=5.0)

    def points(self) -> int:
        stats = self._client.get("/debug/vars").json()
        return sum(
            int(value["values"].get("pointsWrittenOK", 0))
            for key, value in stats.items()
            if key.startswith("httpd")
        )

    def close(self) -> None:
        self._client.close()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set, MB (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def make_session(broker: MosquittoServer, client_id: str, *, v5: bool) -> None:
    """A persistent session subscribed as the consumer will be, so the backlog waits for it."""
    command = [shutil.which("mosquitto_sub") or "mosquitto_sub", "-h", broker.host]
    command += ["-p", str(broker.port), "-i", client_id, "-q", "1", "-c", "-E"]
    if v5:
        command += ["-V", "5", "-x", "3600", "-t", INGEST_FILTER]
    else:
        command += ["-V", "311", "-t", FLOW_FILTER]
    subprocess.run(command, check=True, capture_output=True)


def end_session(broker: MosquittoServer, client_id: str) -> None:
    """Remove a consumer's session (a clean connect), so it queues nothing more."""
    command = [shutil.which("mosquitto_sub") or "mosquitto_sub", "-h", broker.host]
    command += ["-p", str(broker.port), "-i", client_id, "-t", FLOW_FILTER, "-E"]
    subprocess.run(command, check=True, capture_output=True)


@dataclass
class Drain:
    """How one consumer drained one backlog."""

    first: float
    done: float | None
    acked: int
    cpu_s: float
    # InfluxDB's CPU seconds over the same span (the round's figure also holds the consumer's
    # start and stop, and the count asked afterwards).
    influx_cpu_s: float | None = None


def drain(
    *,
    received: Callable[[], int],
    pid: int,
    acks: InfluxAcks,
    before: int,
    count: int,
    stall_s: float,
    timeout_s: float,
    first_wall: Callable[[], float] | None = None,
    stored: Callable[[], int] | None = None,
    influx_cpu: Callable[[], float] | None = None,
) -> Drain:
    """Time a consumer from its first message to InfluxDB acknowledging `count` more points.

    `before`: InfluxDB's count before the consumer started. `first_wall`: the wall-clock time
    the consumer itself noted for its first message, where it notes one (the poll that sees the
    first message can come late when the consumer's one thread is busy with the backlog).
    `stored`: the points the consumer's database holds, asked every half second once its
    writes stop adding up (InfluxDB counts a write it answered with an error as not written,
    though its points may be there).
    """
    deadline = time.monotonic() + STARTUP_S
    while received() == 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the consumer received nothing")
        time.sleep(0.005)
    first = time.monotonic()
    cpu_first = cpu_seconds(pid)
    influx_first = influx_cpu() if influx_cpu is not None else 0.0

    def drained(done: float | None) -> Drain:
        influx = None if influx_cpu is None else influx_cpu() - influx_first
        return Drain(first, done, acked, cpu_seconds(pid) - cpu_first, influx)

    noted = first_wall() if first_wall is not None else 0.0
    if noted > 0:
        first -= max(0.0, time.time() - noted)
    last_change, seen = time.monotonic(), 0
    next_count = last_change + 0.5
    hard = first + timeout_s
    while True:
        acked = acks.points() - before
        now = time.monotonic()
        if acked >= count:
            return drained(now)
        if acked != seen:
            seen, last_change = acked, now
        if stored is not None and now >= next_count:
            if stored() >= count:
                return drained(time.monotonic())
            next_count = now + 0.5
        if now - last_change > stall_s or now > hard:
            return drained(None)
        time.sleep(POLL_S)


def settle(received: Callable[[], int], acks: InfluxAcks, stall_s: float, timeout_s: float) -> None:
    """Wait until neither the consumer's count nor InfluxDB's changed for `stall_s`."""
    last, since = (-1, -1), time.monotonic()
    deadline = since + timeout_s
    while time.monotonic() < deadline:
        now = (received(), acks.points())
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > stall_s:
            return
        time.sleep(0.2)


def figures(
    name: str, count: int, result: Drain, points: int, rss_mb: float, influx_cpu: float
) -> dict[str, Any]:
    """One consumer's round as a JSON object."""
    seconds = None if result.done is None else result.done - result.first
    return {
        "consumer": name,
        "messages": count,
        "completed": result.done is not None,
        "seconds": None if seconds is None else round(seconds, 3),
        "msgs_per_s": None if seconds is None else round(count / seconds),
        "points_in_influxdb": points,
        "lost": count - points,
        "cpu_s": round(result.cpu_s, 2),
        "cpu_us_per_msg": round(result.cpu_s / max(points, 1) * 1e6, 1),
        "peak_rss_mb": rss_mb,
        "influxdb_cpu_s": round(influx_cpu, 2),
    } | (
        {}
        if result.influx_cpu_s is None
        else {"influxdb_cpu_drain_s": round(result.influx_cpu_s, 2)}
    )


def thread_cpu(pid: int) -> list[float]:
    """CPU seconds (user + system) of each thread of a process, the busiest first."""
    found = []
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        found.append(round((int(fields[11]) + int(fields[12])) / tick, 2))
    return sorted(found, reverse=True)


def batch_timeline(ingest: IngestProcess) -> dict[str, Any]:
    """Ingest's batch stages: mean milliseconds a batch spent in each, and how many batches."""
    name = "officina_ingest_batch_stage_seconds"
    found: dict[str, Any] = {}
    for stage in BATCH_STAGES:
        label = f'{{stage="{stage}"}}'
        total = ingest.metric(f"{name}_sum{label}") or 0.0
        times = int(ingest.metric(f"{name}_count{label}") or 0)
        found[stage] = {"n": times, "mean_ms": round(total / times * 1000, 1) if times else None}
        found[stage]["total_s"] = round(total, 3)
    return found


@dataclass
class Bench:
    """The servers and settings every round shares."""

    args: argparse.Namespace
    broker: MosquittoServer
    influx: InfluxServer
    ledger_url: str
    workdir: Path
    red: Path | None
    acks: InfluxAcks
    reader: InfluxReader

    def influx_cpu(self) -> float:
        return sum(map(cpu_seconds, pids_of(self.influx.config_path)))

    def broker_cpu(self) -> float:
        return sum(map(cpu_seconds, pids_of(self.broker.config_path)))

    def quiet(self) -> None:
        """Wait until InfluxDB and the broker are done with what an earlier round left them.

        InfluxDB snapshots and compacts a round's writes in the background, on the same two
        CPUs: whichever consumer came next paid for it, at random. Every round now starts on
        servers at rest (or after QUIET_LIMIT_S, with a warning).
        """
        deadline = time.monotonic() + QUIET_LIMIT_S
        before = self.influx_cpu() + self.broker_cpu()
        while time.monotonic() < deadline:
            time.sleep(QUIET_WINDOW_S)
            now = self.influx_cpu() + self.broker_cpu()
            if now - before < QUIET_SHARE * QUIET_WINDOW_S:
                return
            before = now
        log.warning("InfluxDB or the broker still busy after %d s; going on", QUIET_LIMIT_S)

    def points(self, database: str) -> int:
        # The point count stops moving once every write InfluxDB acknowledged is queryable.
        return self.reader.points(database)

    def _start_ingest(
        self, database: str, client_id: str, name: str, *, alt: bool = False
    ) -> IngestProcess:
        return IngestProcess(
            broker=self.broker,
            ledger_url=self.ledger_url,
            influx=self.influx,
            database=database,
            client_id=client_id,
            log_path=self.workdir / f"{name}.log",
            log_level="warning",
            extra=self.args.ingest_arg + (self.args.alt_ingest_arg if alt else []),
        )

    def officina(
        self, tag: str, count: int, *, crash: bool = False, alt: bool = False
    ) -> dict[str, Any]:
        """One ingest process drains its session's backlog (killed once first, in a crash).

        `alt`: the same with `--alt-ingest-arg` added, side by side in the same rounds.
        """
        consumer = "officina_alt" if alt else "officina"
        database = f"peers_{tag}_{consumer}"
        self.influx.create_database(database)
        client_id = f"peers-{consumer}-{tag}"
        received = "officina_ingest_messages_received_total"
        influx_before = self.influx_cpu()
        broker_before = self.broker_cpu()
        acked_before = self.acks.points()
        ingest = self._start_ingest(database, client_id, f"{consumer}-{tag}", alt=alt)

        def taken() -> int:
            return int(ingest.metric(received) or 0)

        if crash:
            wait_for(lambda: taken() >= count // 4, STARTUP_S, every=0.002)
            ingest.kill()
            ingest = self._start_ingest(database, client_id, f"{consumer}-{tag}-again", alt=alt)
            started = time.monotonic()
            settle(taken, self.acks, self.args.stall, self.args.timeout)
            result = Drain(started, None, self.acks.points() - acked_before, 0.0)
        else:
            result = drain(
                influx_cpu=self.influx_cpu,
                received=taken,
                pid=ingest.pid,
                acks=self.acks,
                before=acked_before,
                count=count,
                stall_s=self.args.stall,
                timeout_s=self.args.timeout,
            )
        rss = peak_rss_mb(ingest.pid)
        timeline = batch_timeline(ingest)
        # The busiest threads' CPU seconds (the network thread first), and the broker's.
        timeline["threads_cpu_s"] = thread_cpu(ingest.pid)[:4]
        timeline["broker_cpu_s"] = round(self.broker_cpu() - broker_before, 2)
        ingest.stop(60)
        end_session(self.broker, client_id)
        return figures(
            consumer,
            count,
            result,
            self.points(database),
            rss,
            self.influx_cpu() - influx_before,
        ) | {"timeline": timeline}

    def node_red(self, tag: str, count: int, *, join: bool, crash: bool = False) -> dict[str, Any]:
        assert self.red is not None
        name = "nodered_join" if join else "nodered_per_message"
        database = f"peers_{tag}_{name}"
        self.influx.create_database(database)
        client_id = f"peers-{name}-{tag}"
        flow = node_red_flow(
            broker=self.broker,
            influx=self.influx,
            database=database,
            client_id=client_id,
            join=join,
        )
        influx_before = self.influx_cpu()
        acked_before = self.acks.points()
        userdir = self.workdir / f"node-red-{name}-{tag}"
        red = NodeRedProcess(self.red, userdir, flow, self.workdir / f"{name}-{tag}.log")
        if crash:
            wait_for(lambda: red.received() >= count // 4, STARTUP_S, every=0.002)
            red.kill()
            red = NodeRedProcess(self.red, userdir, flow, self.workdir / f"{name}-{tag}.log")
            started = time.monotonic()
            settle(red.received, self.acks, self.args.stall, self.args.timeout)
            result = Drain(started, None, self.acks.points() - acked_before, 0.0)
        else:
            result = drain(
                influx_cpu=self.influx_cpu,
                received=red.received,
                pid=red.pid,
                acks=self.acks,
                before=acked_before,
                count=count,
                stall_s=self.args.stall,
                timeout_s=self.args.timeout,
                first_wall=red.first_wall,
                stored=lambda: self.points(database),
            )
        rss = peak_rss_mb(red.pid)
        red.stop()
        end_session(self.broker, client_id)
        return figures(
            name, count, result, self.points(database), rss, self.influx_cpu() - influx_before
        )

    def ceiling(self, tag: str, count: int, *, per_publisher: bool = False) -> dict[str, Any]:
        """InfluxDB alone: the same lines officina writes, from memory, two writers."""
        name = "influxdb_ceiling_per_publisher" if per_publisher else "influxdb_ceiling"
        database = f"peers_{tag}_{name}"
        self.influx.create_database(database)
        lines = ceiling_lines(self.args.machines, count, per_publisher=per_publisher)
        bodies = [
            ("\n".join(lines[at : at + CEILING_BATCH]) + "\n").encode()
            for at in range(0, len(lines), CEILING_BATCH)
        ]
        influx_before = self.influx_cpu()
        before = self.acks.points()
        failed: list[str] = []

        def writer(share: list[bytes]) -> None:
            with httpx.Client(base_url=self.influx.url, timeout=60) as client:
                for body in share:
                    answer = client.post(
                        "/write", params={"db": database, "precision": "ms"}, content=body
                    )
                    if not answer.is_success:
                        failed.append(answer.text)

        threads = [
            threading.Thread(target=writer, args=(bodies[w::CEILING_WRITERS],))
            for w in range(CEILING_WRITERS)
        ]
        for thread in threads:
            thread.start()
        # Timed as every consumer is: polling InfluxDB's count until it has acknowledged them
        # all (the polls cost InfluxDB and this process some CPU; the ceiling pays it too).
        result = drain(
            influx_cpu=self.influx_cpu,
            received=lambda: count,
            pid=os.getpid(),
            acks=self.acks,
            before=before,
            count=count,
            stall_s=self.args.stall,
            timeout_s=self.args.timeout,
        )
        for thread in threads:
            thread.join()
        if failed:
            raise RuntimeError(f"InfluxDB refused the ceiling's lines: {failed[0]}")
        return figures(
            name,
            count,
            result,
            self.points(database),
            peak_rss_mb(os.getpid()),
            self.influx_cpu() - influx_before,
        )


def ceiling_lines(machines: int, count: int, *, per_publisher: bool = False) -> list[str]:
    """The lines officina writes for the published backlog (same series, fields and times).

    In the order a consumer receives them, the two publishers' messages side by side; or, with
    `per_publisher`, all of one publisher's, then the other's.
    """
    names = machine_topics(machines)
    shares = [names[p::2] for p in range(2)]
    t0 = (int(time.time()) - 86_400) * 1000
    lines = []
    order = [(p, i) for i in range(count // 2) for p in range(2)]
    if per_publisher:
        order.sort()
    for p, i in order:
        share = shares[p]
        site, machine_id = share[i % len(share)]
        seq = i // len(share)
        sample = bench_sample(i, t0 + p + seq * 1000, seq)
        lines.append(telemetry_line(series_key(TELEMETRY, site, machine_id), sample))
    return lines


def median_of(rounds: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else None


def summary(results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per consumer and the ratios the goals name."""
    medians = {
        name: {
            key: median_of(rounds, key)
            for key in (
                "msgs_per_s",
                "lost",
                "cpu_us_per_msg",
                "peak_rss_mb",
                "influxdb_cpu_s",
                "influxdb_cpu_drain_s",
            )
        }
        | {"completed": sum(1 for r in rounds if r["completed"]), "rounds": len(rounds)}
        for name, rounds in results.items()
    }

    def ratio(over: str, mine_as: str = "officina") -> float | None:
        mine = medians.get(mine_as, {}).get("msgs_per_s")
        theirs = medians.get(over, {}).get("msgs_per_s")
        return round(mine / theirs, 2) if mine and theirs else None

    # Each round's ratio, from drains run back to back on the same machine state: the load on a
    # shared machine moves both alike, so their ratio holds better than a ratio of medians.
    def by_round(mine_as: str) -> float | None:
        per_round = [
            mine["msgs_per_s"] / theirs["msgs_per_s"]
            for mine, theirs in zip(
                results.get(mine_as, []), results.get("influxdb_ceiling", []), strict=False
            )
            if mine["msgs_per_s"] and theirs["msgs_per_s"]
        ]
        return round(statistics.median(per_round), 2) if per_round else None

    alt = {}
    if "officina_alt" in results:
        alt = {
            "alt_ratio_to_influxdb_ceiling": ratio("influxdb_ceiling", "officina_alt"),
            "alt_ratio_to_influxdb_ceiling_by_round": by_round("officina_alt"),
        }
    return alt | {
        "medians": medians,
        "ratio_to_influxdb_ceiling_by_round": by_round("officina"),
        "ratio_to_nodered_join": ratio("nodered_join"),
        # At the per-message flow's own backlog, which it survives: ingest drained the same size.
        "ratio_to_nodered_per_message": ratio("nodered_per_message", "officina_small"),
        "ratio_to_influxdb_ceiling": ratio("influxdb_ceiling"),
        "ratio_to_influxdb_ceiling_per_publisher": ratio("influxdb_ceiling_per_publisher"),
    }


@contextmanager
def servers(workdir: Path) -> Iterator[tuple[MosquittoServer, InfluxServer, str]]:
    """Mosquitto, InfluxDB and a private PostgreSQL with a ledger database, stopped afterwards."""
    with ExitStack() as stack:
        broker = start_broker(workdir / "mosquitto")
        stack.callback(broker.stop)
        influx = start_influxdb(workdir=workdir / "influxdb", database="peers")
        stack.callback(influx.stop)
        postgres = start_private_postgres()
        stack.callback(postgres.remove)
        yield broker, influx, postgres.create_database("peers")


def run(bench: Bench) -> dict[str, Any]:
    """The interleaved rounds, then the crash round."""
    args = bench.args
    results: dict[str, list[dict[str, Any]]] = {
        "officina": [],
        "influxdb_ceiling": [],
        "influxdb_ceiling_per_publisher": [],
    }
    big = ["officina", "influxdb_ceiling", "influxdb_ceiling_per_publisher"]
    if args.alt_ingest_arg:
        results["officina_alt"] = []
        big.insert(1, "officina_alt")
    if bench.red is not None:
        results |= {"nodered_join": [], "nodered_per_message": []}
        big.insert(1, "nodered_join")
    for number in range(args.rounds):
        tag = f"r{number}"
        for client in ("officina", "officina_alt", "nodered_join"):
            if client in big:
                make_session(bench.broker, f"peers-{client}-{tag}", v5=client != "nodered_join")
        publish(bench.broker, machines=args.machines, total=args.messages, processes=2, rate=0)
        order = big[number % len(big) :] + big[: number % len(big)]
        for name in order:
            bench.quiet()
            if name in ("officina", "officina_alt"):
                outcome = bench.officina(tag, args.messages, alt=name == "officina_alt")
            elif name == "nodered_join":
                outcome = bench.node_red(tag, args.messages, join=True)
            else:
                per_publisher = name == "influxdb_ceiling_per_publisher"
                outcome = bench.ceiling(tag, args.messages, per_publisher=per_publisher)
            log.warning("round %d: %s", number, json.dumps(outcome))
            results[name].append(outcome)
        if bench.red is not None and args.per_message_size:
            small = f"{tag}pm"
            make_session(bench.broker, f"peers-nodered_per_message-{small}", v5=False)
            make_session(bench.broker, f"peers-officina-{small}", v5=True)
            publish(
                bench.broker,
                machines=args.machines,
                total=args.per_message_size,
                processes=2,
                rate=0,
            )
            bench.quiet()
            outcome = bench.node_red(small, args.per_message_size, join=False)
            log.warning("round %d: %s", number, json.dumps(outcome))
            results["nodered_per_message"].append(outcome)
            bench.quiet()
            outcome = bench.officina(small, args.per_message_size)
            log.warning("round %d: %s", number, json.dumps(outcome))
            results.setdefault("officina_small", []).append(outcome)
    report: dict[str, Any] = {"rounds": results} | summary(results)
    if args.crash_size:
        report["crash"] = crash_round(bench)
    return report


def crash_round(bench: Bench) -> dict[str, Any]:
    """SIGKILL mid-drain, start again on the same session; what InfluxDB is missing."""
    count = bench.args.crash_size
    tag = "crash"
    consumers = ["officina"] + (["nodered_join"] if bench.red is not None else [])
    for client in consumers:
        make_session(bench.broker, f"peers-{client}-{tag}", v5=client == "officina")
    publish(bench.broker, machines=bench.args.machines, total=count, processes=2, rate=0)
    outcome: dict[str, Any] = {"messages": count}
    for client in consumers:
        bench.quiet()
        if client == "officina":
            found = bench.officina(tag, count, crash=True)
        else:
            found = bench.node_red(tag, count, join=True, crash=True)
        log.warning("crash round: %s", json.dumps(found))
        outcome[f"{client}_lost"] = found["lost"]
    return outcome


def main() -> None:
    """Run the rounds and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="backlog of each round")
    parser.add_argument("--machines", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--per-message-size",
        type=int,
        default=5_000,
        help="backlog for the per-message Node-RED flow (0: skip it)",
    )
    parser.add_argument("--crash-size", type=int, default=20_000, help="0: no crash round")
    parser.add_argument("--stall", type=float, default=15.0, help="s without progress: give up")
    parser.add_argument("--timeout", type=float, default=300.0, help="s a drain may take at most")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where npm installs")
    parser.add_argument("--no-node-red", action="store_true")
    parser.add_argument(
        "--ingest-arg", action="append", default=[], help="passed to `officina ingest run`"
    )
    parser.add_argument(
        "--alt-ingest-arg",
        action="append",
        default=[],
        help="run `officina_alt` too, with these added to `officina ingest run` (an A/B test)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: 10,000 / 1,000 / 4,000, 1 round"
    )
    args = parser.parse_args()
    if args.quick:
        args.messages, args.per_message_size, args.crash_size = 10_000, 1_000, 4_000
        args.rounds, args.stall = 1, 5.0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    red = None if args.no_node_red else install_node_red(args.cache)
    workdir = Path(tempfile.mkdtemp(prefix="officina-peers-"))
    try:
        with servers(workdir) as (broker, influx, ledger_url):
            acks = InfluxAcks(influx)
            reader = InfluxReader(influx)
            bench = Bench(args, broker, influx, ledger_url, workdir, red, acks, reader)
            result: dict[str, Any] = {"machine": machine()}
            if args.no_node_red:
                result["skipped"] = "Node-RED: left out by --no-node-red"
            elif red is None:
                result["skipped"] = "Node-RED: npm or node not found"
            result |= run(bench)
            acks.close()
            reader.close()
    finally:
        if args.keep:
            log.warning("logs kept in %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
