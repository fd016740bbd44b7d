"""Scale figures, one JSON line: 1,000 machines on 20 gateways, one Mosquitto, two ingests.

Run from the repository root: `python -m bench.scale [--minutes 10] [--gateways 20] ...`.

Everything is a real process, started here on free loopback ports: Mosquitto (persistence on,
queueing without limit, `$SYS` every second), InfluxDB 1.x, a fresh database
`officina_scale_<pid>` on the PostgreSQL at 127.0.0.1:5432 (dropped at the end), two
`officina ingest run` processes sharing one MQTT 5 subscription (`$share/ingest/…`), and one
process per gateway.

A gateway process is one workshop of 50 machines running the gateway's own code: a
`MachineWorker` per machine (its `MachineSessions` state machine with the site's access list and
the lathe's run thresholds, its relay, its open-session journal), one SQLite `Spool` and one
`GatewayLink` (paho, QoS 1, the spool sender). What it does not run is the worker's threads: a
real gateway has a worker thread and two poller threads per machine, and 150 threads in each of
20 processes would spend two cores on waking up. One loop per process instead reads each
machine's simulated sensors once a second (each machine at its own phase) and hands the reading
to the worker exactly as its thread would (`_handle`, then `tick` and `_journal`). The sensors
are a seeded script of the members at each machine: a member badges in, switches the machine on,
cuts, idles, cuts again, switches off and badges out, two or three minutes in all; now and then a
stranger's card is denied. At the end of the run it is closing time: every member still at a
machine badges out, and each gateway waits until its spool is empty.

What is measured, over the run (from the moment the gateways start to their closing time):
- rates: messages the broker acknowledged to the gateways (their spools' counters, reported
  every 2 s) and messages the ingests made durable and acknowledged (their /metrics), per second;
- backlog, sampled every second: the broker's stored messages minus its retained ones (`$SYS`:
  queued for or in flight to the ingests), the ingests' received-but-unacknowledged messages, and
  the gateways' spools; a timeline of them every 30 s, with the machine's load;
- latency, made to queryable: InfluxDB is polled every 0.2 s for the last minute of telemetry of
  one tracer machine per workshop (its `ts` is the moment the gateway made the sample, just
  before it is spooled and sent); a point's latency is the time of the first poll that returned
  it minus its `ts`. Sessions likewise: the ledger is polled every 0.5 s for new sessions; the
  latency is the first poll that saw one minus its end. Both are upper bounds by up to a poll.
- CPU seconds (user + system, /proc/<pid>/stat) of every gateway, each ingest, mosquitto,
  influxd, the PostgreSQL backends connected to this run's database, and this script itself;
- after the run, once everything has drained: sessions booked in the ledger against the
  session ids the gateways made, and telemetry points in InfluxDB against samples spooled.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import logging
import os
import platform
import queue
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import sql

from contract import Envelope, MachineTopic, Message, SessionRecord, card_hash
from contract.mqtt import BrokerOptions
from firmware_bridge.clock import SystemClock
from firmware_bridge.profiles import Load
from gateway import __version__
from gateway.access import AccessList, Grant
from gateway.config import MachineConfig
from gateway.drivers import MachineDrivers, mcu
from gateway.drivers.base import CardReading, CurrentReading
from gateway.link import GatewayLink, LinkOptions
from gateway.session import MachineSessions
from gateway.spool import Spool
from gateway.worker import MachineWorker, Timed
from harness.influxdb import InfluxServer, start_influxdb
from harness.ingest import IngestProcess
from harness.mosquitto import MosquittoServer
from harness.sql import PostgresServer
from services.ledger import SessionBook

log = logging.getLogger("bench.scale")

REPO = Path(__file__).resolve().parents[1]
SITE_KEY = "scale-site-key-0123456789abcdef-gw"
INFLUX_DB = "officina_scale"
SHARED_GROUP = "ingest"
TRACER = "m-00"  # one machine per workshop whose telemetry is timed
MEMBERS_PER_SITE = 60
STRANGERS_PER_SITE = 5
STATUS_EVERY_S = 2.0
INFLUX_POLL_S = 0.2
INFLUX_WINDOW_S = 60
LEDGER_POLL_S = 0.5
PG_BACKEND_POLL_S = 5.0
INFLUX_LINES = "officina_ingest_influx_lines_written_total"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Each real gateway writes its spool and journal to its own SD card. Twenty of them fsyncing
# on one shared virtual disk would measure that disk, so their spools go to tmpfs by default.
SHM = "/dev/shm"
# A lathe's calibration: idle with the motor on, running when it cuts.
THRESHOLDS = {"idle_amps": 0.8, "run_amps": 4.0, "hysteresis_amps": 0.3, "min_dwell_s": 2.0}
AMPS = {Load.OFF: (0.03, 0.01), Load.IDLE: (1.6, 0.15), Load.RUNNING: (6.5, 0.8)}


# -- the simulated shop floor (runs inside a gateway process) --------------------------------------


def member_uid(site: int, member: int) -> str:
    """A 7-byte card UID of a member of a workshop."""
    return f"04{site:04X}{member:08X}"


def stranger_uid(site: int, stranger: int) -> str:
    """A card nobody granted: a visitor trying a machine."""
    return f"05{site:04X}{stranger:08X}"


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a member does at a machine, `at` seconds into the run."""

    at: float
    card: str | None = None
    load: Load | None = None
    holds: bool | None = None  # after this card, whether a member has the machine


class Operators:
    """The members at one machine: a seeded timeline of cards presented and loads switched."""

    def __init__(
        self, rng: random.Random, cards: Sequence[str], strangers: Sequence[str], first_at: float
    ) -> None:
        self._rng = rng
        self._cards = cards
        self._strangers = strangers
        self._steps: deque[Step] = deque()
        self._plan_from = first_at
        self._due_cards: deque[str] = deque()
        self._holding: str | None = None
        self._closed = False
        self.load = Load.OFF

    def _plan(self) -> None:
        """The next session: a member's visit, from badge-in to badge-out and a pause after."""
        rng, t = self._rng, self._plan_from
        steps: list[Step] = []
        if rng.random() < 0.05:
            steps.append(Step(t, card=rng.choice(self._strangers)))
            t += rng.uniform(3, 10)
        card = rng.choice(self._cards)
        steps.append(Step(t, card=card, holds=True))
        t += rng.uniform(3, 10)
        steps.append(Step(t, load=Load.IDLE))
        t += rng.uniform(5, 20)
        for _ in range(rng.randint(1, 3)):
            steps.append(Step(t, load=Load.RUNNING))
            t += rng.uniform(20, 80)
            steps.append(Step(t, load=Load.IDLE))
            t += rng.uniform(5, 25)
        steps.append(Step(t, load=Load.OFF))
        t += rng.uniform(2, 8)
        steps.append(Step(t, card=card, holds=False))
        self._plan_from = t + rng.uniform(10, 60)
        self._steps.extend(steps)

    def advance(self, now: float) -> None:
        """Carry out every step due by `now` (seconds into the run)."""
        while not self._closed:
            if not self._steps:
                self._plan()
            step = self._steps[0]
            if step.at > now:
                return
            self._steps.popleft()
            if step.card is not None:
                self._due_cards.append(step.card)
                if step.holds is not None:
                    self._holding = step.card if step.holds else None
            if step.load is not None:
                self.load = step.load

    def close_shop(self) -> None:
        """Closing time: switch off, and badge out whoever still has the machine."""
        self._closed = True
        self._steps.clear()
        self.load = Load.OFF
        if self._holding is not None:
            self._due_cards.append(self._holding)
            self._holding = None

    def amps(self) -> float:
        """What the current clamp reads now."""
        mean, spread = AMPS[self.load]
        return max(0.0, self._rng.gauss(mean, spread))

    def next_card(self) -> str | None:
        """A card held to the reader since the last look, if any."""
        return self._due_cards.popleft() if self._due_cards else None


class ScriptedCurrent:
    """The machine's current sensor, read once a second by the loop."""

    def __init__(self, operators: Operators) -> None:
        self._operators = operators

    def open(self) -> None:
        """Nothing to open."""

    def read(self) -> CurrentReading | None:
        """The current flowing now, at the nominal voltage."""
        return CurrentReading(amps=self._operators.amps(), volts=230.0)

    def close(self) -> None:
        """Nothing to release."""


class ScriptedReader:
    """The machine's card reader."""

    def __init__(self, operators: Operators) -> None:
        self._operators = operators

    def open(self) -> None:
        """Nothing to open."""

    def read(self) -> CardReading | None:
        """A card presented since the last read, once."""
        card = self._operators.next_card()
        return CardReading(card) if card is not None else None

    def close(self) -> None:
        """Nothing to release."""


class ScriptedRelay:
    """The machine's interlock relay: remembers where it was told to be."""

    def __init__(self) -> None:
        self.energised = False

    def open(self) -> None:
        """Start de-energised: the machine locked."""
        self.energised = False

    def set(self, energised: bool) -> None:
        """Move the relay."""
        self.energised = energised

    def close(self) -> None:
        """De-energise the relay."""
        self.energised = False


class SessionTally:
    """The link as the workers see it: it also keeps the id of every session they close."""

    def __init__(self, link: GatewayLink) -> None:
        self.link = link
        self.session_ids: list[str] = []

    def publish(self, machine: str, payload: Envelope) -> None:
        """Note a closed session, then spool the payload like the link does."""
        if isinstance(payload, SessionRecord):
            self.session_ids.append(payload.id)
        self.link.publish(machine, payload)


# -- one gateway process -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayPlan:
    """What one gateway process runs: which workshop, how many machines, where the broker is."""

    index: int
    machines: int
    broker_port: int
    workdir: str
    seconds: float
    seed: int

    @property
    def site(self) -> str:
        """The workshop's site id."""
        return f"workshop-{self.index:02d}"

    @property
    def gateway(self) -> str:
        """The gateway's id."""
        return f"gw-{self.index:02d}"


def emit(line: Mapping[str, object]) -> None:
    """One JSON line to the parent."""
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


class SimulatedGateway:
    """One workshop's machines, each with its real worker, behind one real spool and link."""

    def __init__(self, plan: GatewayPlan) -> None:
        self.plan = plan
        self.clock = SystemClock()
        key = SITE_KEY.encode()
        rng = random.Random(plan.seed)
        members = [member_uid(plan.index, n) for n in range(MEMBERS_PER_SITE)]
        strangers = [stranger_uid(plan.index, n) for n in range(STRANGERS_PER_SITE)]
        grants = [Grant(card_hash(uid, key), f"member-{n:03d}") for n, uid in enumerate(members)]
        self.spool = Spool(Path(plan.workdir) / "spool.db")
        machine_ids = tuple(f"m-{n:02d}" for n in range(plan.machines))
        self.link = GatewayLink(
            LinkOptions(
                site=plan.site,
                gateway=plan.gateway,
                machines=machine_ids,
                broker=BrokerOptions(host="127.0.0.1", port=plan.broker_port),
                software_version=__version__,
            ),
            spool=self.spool,
            deliver=self._deliver,
            wall_ms=self.clock.wall_ms,
        )
        self.tally = SessionTally(self.link)
        self.operators: dict[str, Operators] = {}
        self.workers: dict[str, MachineWorker] = {}
        for n, machine in enumerate(machine_ids):
            config = MachineConfig(
                id=machine, current=mcu.Config(driver="mcu", port=f"sim-{n}"), **THRESHOLDS
            )
            operators = Operators(
                random.Random(rng.getrandbits(64)), members, strangers, rng.uniform(0, 60)
            )
            self.operators[machine] = operators
            self.workers[machine] = MachineWorker(
                config=config,
                sessions=MachineSessions(
                    machine,
                    thresholds=config.thresholds(),
                    policy=config.policy(),
                    access=AccessList(grants, version=-1),
                    clock=self.clock,
                ),
                drivers=MachineDrivers(
                    current=ScriptedCurrent(operators),
                    reader=ScriptedReader(operators),
                    relay=ScriptedRelay(),
                ),
                publisher=self.tally,
                site_key=key,
                spool=self.spool,
            )
        self.phases = {machine: rng.random() for machine in machine_ids}
        self.lag_max_s = 0.0
        self.samples = 0

    def _deliver(self, message: Message) -> None:
        """Access lists and commands from the broker go to their machine's inbox."""
        topic = message.topic
        if isinstance(topic, MachineTopic) and topic.machine in self.workers:
            self.workers[topic.machine].inbox.put(message)

    def start(self) -> None:
        """Connect, and announce every machine locked, as the workers do when they start."""
        self.link.start()
        if not self.link.wait_connected(30.0):
            raise RuntimeError(f"{self.plan.gateway}: no broker after 30 s")
        for worker in self.workers.values():
            worker._open_drivers()
            worker._carry_out(worker.sessions.start())

    def step(self, machine: str, at_s: float) -> None:
        """What the machine's pollers and worker thread do in one second of its life."""
        worker, operators = self.workers[machine], self.operators[machine]
        operators.advance(at_s)
        reading = worker.drivers.current.read()
        if reading is not None:
            worker._handle(Timed(reading, self.clock.monotonic()))
        reader = worker.drivers.reader
        assert reader is not None
        for card in iter(reader.read, None):
            worker._handle(card)
        while not worker.inbox.empty():
            worker._handle(worker.inbox.get_nowait())
        worker._carry_out(worker.sessions.tick())
        worker._journal()

    def run(self, start_mono: float) -> None:
        """Step every machine once a second, at its own phase, until closing time."""
        end_mono = start_mono + self.plan.seconds
        due = [(start_mono + phase, machine) for machine, phase in self.phases.items()]
        heapq.heapify(due)
        next_status = start_mono  # a first line at the start, the baseline of the rates
        pause = threading.Event()
        while True:
            at, machine = due[0]
            now = time.monotonic()
            if now >= next_status:
                self.status()
                next_status += STATUS_EVERY_S
            if at >= end_mono:
                break
            if at > now:
                pause.wait(min(at, next_status) - now)
                continue
            self.lag_max_s = max(self.lag_max_s, now - at)
            self.step(machine, now - start_mono)
            self.samples += 1
            # A sensor read late is read again a second later, as a blocking read would be:
            # no burst of catch-up reads (the session machine would skip their telemetry).
            heapq.heapreplace(due, (max(at + 1.0, now + 0.9), machine))
        self.close_shop(end_mono - start_mono)

    def close_shop(self, at_s: float) -> None:
        """Everyone badges out; the workers stop; the spool drains to the broker."""
        for machine, operators in self.operators.items():
            operators.close_shop()
            self.step(machine, at_s)
        for worker in self.workers.values():
            worker._shut_down()
        if not self.link.wait_sent(120.0):
            log.error("%s: spool not drained after 120 s", self.plan.gateway)

    def status(self, **extra: object) -> None:
        """Counters so far, as one line to the parent."""
        counters = self.link.counters
        emit(
            {
                "gateway": self.plan.index,
                "t": time.time(),
                "acknowledged": counters.get("spool.acknowledged", 0),
                "spooled": counters.get("spool.kept", 0),
                "telemetry": counters.get("spooled.telemetry", 0),
                "spool_backlog": self.spool.backlog(),
                "sessions": len(self.tally.session_ids),
                "lag_max_ms": round(self.lag_max_s * 1000, 1),
                "samples": self.samples,
                **extra,
            }
        )

    def stop(self) -> None:
        """Say goodbye to the broker and close the spool."""
        self.link.stop()
        self.spool.close()


def gateway_main(plan_json: str) -> None:
    """A gateway process: build, connect, say ready, wait for `go`, run, report, stop."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    plan = GatewayPlan(**json.loads(plan_json))
    gateway = SimulatedGateway(plan)
    gateway.start()
    emit({"gateway": plan.index, "ready": True})
    line = sys.stdin.readline().split()
    if not line or line[0] != "go":
        raise SystemExit("no go from the parent")
    start_mono = time.monotonic() + (float(line[1]) - time.time())
    pause = threading.Event()
    pause.wait(max(0.0, start_mono - time.monotonic()))
    gateway.run(start_mono)
    counters = gateway.link.counters
    gateway.status(
        final=True,
        session_ids=gateway.tally.session_ids,
        badges=counters.get("spooled.badges", 0),
        states=counters.get("spooled.state", 0),
        cpu_s=round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 3),
    )
    gateway.stop()


# -- processes and their CPU ---------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces), starting at field 3 (state).
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs, every process), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user, nice, system, irq, softirq: not idle, iowait, nor time the hypervisor stole.
    return (sum(fields[:7]) - fields[3] - fields[4]) / CLK_TCK


def pid_by_command(marker: str) -> int:
    """The pid of the process whose command line holds `marker` (a config path of this run)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in command and int(entry.name) != os.getpid():
            return int(entry.name)
    raise RuntimeError(f"no process runs with {marker}")


class SharedIngest:
    """One `officina ingest run` in the shared-subscription group, with its /metrics remembered."""

    def __init__(
        self, n: int, broker: MosquittoServer, ledger_url: str, influx: InfluxServer, logs: Path
    ) -> None:
        self.client_id = f"scale-ingest-{n}"
        self.process = IngestProcess(
            broker=broker,
            ledger_url=ledger_url,
            influx=influx,
            database=INFLUX_DB,
            client_id=self.client_id,
            log_path=logs / f"{self.client_id}.log",
            shared_group=SHARED_GROUP,
            log_level="warning",
            scrape_timeout_s=5.0,
        )
        self._last: dict[str, float] = {}
        self.missed_scrapes = 0

    def metrics(self) -> dict[str, float]:
        """Every metric of /metrics summed over its labels; the last answer if none comes now."""
        found = self.process.metrics()
        if found is None:
            self.missed_scrapes += 1
            return self._last
        self._last = found
        return found

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after a minute)."""
        self.process.stop(60)


def ingested(metrics: Mapping[str, float]) -> float:
    """Messages an ingest has made durable and acknowledged, whatever became of them."""
    return sum(
        metrics.get(name, 0.0)
        for name in (
            "officina_ingest_messages_written_total",
            "officina_ingest_messages_duplicate_total",
            "officina_ingest_messages_rejected_total",
            "officina_ingest_messages_ignored_total",
        )
    )


class GatewayProcess:
    """The parent's handle on one gateway process; its lines go to a shared queue."""

    def __init__(
        self, plan: GatewayPlan, lines: queue.Queue[tuple[int, dict[str, Any]]], logs: Path
    ) -> None:
        self.plan = plan
        self._log = (logs / f"{plan.gateway}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "--gateway-child", json.dumps(asdict(plan))],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._reader = threading.Thread(
            target=self._read, args=(lines,), name=f"read-{plan.gateway}", daemon=True
        )
        self._reader.start()

    def _read(self, lines: queue.Queue[tuple[int, dict[str, Any]]]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            lines.put((self.plan.index, json.loads(line)))

    def go(self, at_wall: float) -> None:
        """Tell the gateway when to start."""
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(f"go {at_wall!r}\n")
        stdin.flush()

    def stop(self) -> None:
        """Wait for it to finish (it stops by itself), or kill it."""
        try:
            self.process.wait(180)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


class BrokerWatch:
    """Mosquitto's `$SYS` counters, as last published (every second)."""

    STORED = "$SYS/broker/store/messages/count"
    RETAINED = "$SYS/broker/retained messages/count"
    DROPPED = "$SYS/broker/publish/messages/dropped"

    def __init__(self, broker: MosquittoServer) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, float] = {}
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="scale-sys-watch")
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        topics = (self.STORED, self.RETAINED, self.DROPPED)
        client.subscribe([(topic, 0) for topic in topics])

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._values[msg.topic] = float(msg.payload)

    def value(self, topic: str) -> float:
        """The last value of a `$SYS` topic; 0 until one came."""
        with self._lock:
            return self._values.get(topic, 0.0)

    def wait_for(self, topic: str, timeout: float) -> None:
        """Block until the broker has published `topic` once."""
        deadline = time.monotonic() + timeout
        while topic not in self._values:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the broker did not publish {topic}")
            time.sleep(0.1)

    @property
    def backlog(self) -> float:
        """Messages the broker stores that are not retained: queued or in flight to a client."""
        return max(0.0, self.value(self.STORED) - self.value(self.RETAINED))

    def stop(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


# -- sampling ------------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max, rounded to the millisecond, and how many."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else []
    return {
        "p50": round(cuts[49] if cuts else ordered[0]),
        "p99": round(cuts[98] if cuts else ordered[0]),
        "max": round(ordered[-1]),
        "n": len(ordered),
    }


class LatencySampler:
    """Polls InfluxDB and the ledger for what became queryable, from its own thread."""

    def __init__(self, influx: InfluxServer, ledger_dsn: str, *, since_ms: int) -> None:
        self._influx = influx
        self._http = httpx.Client(timeout=10)
        self._ledger = psycopg.connect(ledger_dsn, autocommit=True)
        self.backend_pid = int(self._ledger.info.backend_pid)
        self._since_ms = since_ms
        self._until_ms: int | None = None
        self._stop = threading.Event()
        self._seen_points: set[tuple[str, int]] = set()
        self._seen_sessions: set[str] = set()
        self._sessions_from = 0.0  # epoch seconds of the newest session seen, minus a margin
        # (made, latency): when the gateway made the point (epoch ms), how long until queryable.
        self.telemetry: list[tuple[int, float]] = []
        self.session_ms: list[float] = []
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name="latency", daemon=True)

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def stop(self, until_ms: int) -> None:
        """Count only what was made before `until_ms`, poll once more after a drain, and stop."""
        self._until_ms = until_ms
        self._stop.set()
        self._thread.join(30)
        self._ledger.close()
        self._http.close()

    def _counts(self, made_ms: int) -> bool:
        return made_ms >= self._since_ms and (self._until_ms is None or made_ms <= self._until_ms)

    def _run(self) -> None:
        next_ledger = 0.0
        while not self._stop.wait(INFLUX_POLL_S):
            try:
                self._poll_influx()
                if time.monotonic() >= next_ledger:
                    self._poll_ledger()
                    next_ledger = time.monotonic() + LEDGER_POLL_S
            except (httpx.HTTPError, psycopg.Error, ValueError, KeyError) as err:
                self.errors += 1
                log.warning("latency poll failed: %s", err)

    def _poll_influx(self) -> None:
        response = self._http.get(
            f"{self._influx.url}/query",
            params={
                "db": INFLUX_DB,
                "epoch": "ms",
                "q": f"SELECT amps FROM telemetry WHERE machine = '{TRACER}' "
                f"AND time > now() - {INFLUX_WINDOW_S}s GROUP BY site",
            },
        )
        answer = response.json()
        seen_at = time.time() * 1000
        for result in answer.get("results", []):
            for series in result.get("series", []):
                site = series["tags"]["site"]
                for made_ms, _amps in series["values"]:
                    key = (site, int(made_ms))
                    if key in self._seen_points:
                        continue
                    self._seen_points.add(key)
                    if self._counts(key[1]):
                        self.telemetry.append((key[1], seen_at - key[1]))

    def _poll_ledger(self) -> None:
        rows = self._ledger.execute(
            "SELECT id, extract(epoch FROM ended), extract(epoch FROM received_at) "
            "FROM sessions WHERE received_at > to_timestamp(%s)",
            (self._sessions_from,),
        ).fetchall()
        seen_at = time.time() * 1000
        newest = self._sessions_from
        for session_id, ended, received in rows:
            newest = max(newest, float(received) - 30.0)
            if session_id in self._seen_sessions:
                continue
            self._seen_sessions.add(session_id)
            ended_ms = int(float(ended) * 1000)
            if self._counts(ended_ms):
                self.session_ms.append(seen_at - ended_ms)
        self._sessions_from = newest


class PostgresBackends:
    """CPU of the PostgreSQL backends connected to this run's database, but for this script's."""

    def __init__(self, dsn: str, database: str, *, exclude: set[int]) -> None:
        self._db = psycopg.connect(dsn, autocommit=True)
        self._database = database
        self._exclude = exclude | {int(self._db.info.backend_pid)}
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}

    def sample(self, *, baseline: bool = False) -> None:
        """Read every backend's CPU now; with `baseline`, what is spent so far does not count."""
        rows = self._db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self._database,)
        ).fetchall()
        for (pid,) in rows:
            if pid in self._exclude:
                continue
            spent = cpu_seconds(int(pid))
            if spent is None:
                continue
            # A backend first seen after the baseline was forked during the run: from zero.
            self._first.setdefault(int(pid), spent if baseline else 0.0)
            self._last[int(pid)] = spent

    def spent(self) -> dict[str, float]:
        """CPU seconds since the baseline, all backends together, and how many there were."""
        total = sum(self._last[pid] - self._first[pid] for pid in self._last)
        return {"cpu_s": round(total, 2), "backends": len(self._last)}

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


@dataclass(slots=True)
class Floor:
    """What the parent knows of the gateways, from their lines."""

    ready: set[int] = field(default_factory=set)
    first: dict[int, dict[str, Any]] = field(default_factory=dict)
    latest: dict[int, dict[str, Any]] = field(default_factory=dict)
    final: dict[int, dict[str, Any]] = field(default_factory=dict)

    def take(self, lines: queue.Queue[tuple[int, dict[str, Any]]]) -> None:
        """Take every line that arrived."""
        while True:
            try:
                index, line = lines.get_nowait()
            except queue.Empty:
                return
            if line.get("ready"):
                self.ready.add(index)
                continue
            self.first.setdefault(index, line)
            self.latest[index] = line
            if line.get("final"):
                self.final[index] = line

    def total(self, key: str) -> float:
        """A counter summed over the gateways' latest lines."""
        return float(sum(line.get(key, 0) for line in self.latest.values()))

    def rate(self, key: str) -> float:
        """A counter's rate per second, summed over the gateways, from first to latest line."""
        total = 0.0
        for index, last in self.latest.items():
            first = self.first[index]
            if last["t"] > first["t"]:
                total += (last[key] - first[key]) / (last["t"] - first["t"])
        return total


@dataclass(frozen=True, slots=True)
class Tick:
    """One second of the run as sampled by the parent."""

    t: float
    published: float
    ingested: float
    broker_backlog: float
    ingest_backlog: float
    spool_backlog: float
    load: float
    busy_s: float


def wait_until(check: Any, timeout: float, what: str, every: float = 0.2) -> None:
    """Poll check() until true; RuntimeError naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not after {timeout:g} s")
        time.sleep(every)


def machine_info() -> dict[str, object]:
    """The CPU, its cores and the Python that ran the bench."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


# -- the run -------------------------------------------------------------------------------------


def start_broker(workdir: Path) -> MosquittoServer:
    """Mosquitto with persistence, queueing without limit, `$SYS` every second, subscriptions
    logged (so the run can see both ingests subscribed before any gateway speaks)."""
    broker = MosquittoServer(workdir=workdir, persistence=True)
    with broker.config_path.open("a") as config:
        config.write("max_queued_messages 0\nsys_interval 1\nlog_type subscribe\n")
    broker.start()
    return broker


def subscribed(broker: MosquittoServer, client_id: str) -> bool:
    """Whether the broker's log shows the client's shared subscription."""
    prefix = f"$share/{SHARED_GROUP}/"
    return any(
        client_id in line and prefix in line
        for line in broker.log_path.read_text(errors="replace").splitlines()
    )


@contextlib.contextmanager
def ledger_database(server: PostgresServer) -> Iterator[tuple[str, str, str]]:
    """A fresh database for this run: (name, SQLAlchemy URL, libpq DSN); dropped afterwards."""
    name = f"officina_scale_{os.getpid()}"
    dsn = f"host={server.host} port={server.port} user={server.user} dbname="
    with psycopg.connect(dsn + "postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name, server.url(name), dsn + name
    finally:
        server.drop_database(name)


class Run:
    """The whole bench, from the servers to the report."""

    def __init__(self, args: argparse.Namespace, workdir: Path, spools: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.spools = spools
        self.seconds = args.minutes * 60.0
        self.lines: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        self.floor = Floor()
        self.ticks: list[Tick] = []

    def execute(self) -> dict[str, object]:
        """Start everything, run, drain, measure; the servers are stopped on the way out."""
        args, workdir = self.args, self.workdir
        result: dict[str, object] = {
            "bench": "scale",
            "machine": machine_info(),
            "load_at_start": [round(x, 2) for x in os.getloadavg()],
            "setup": {
                "gateways": args.gateways,
                "machines": args.gateways * args.machines_per_gateway,
                "ingests": 2,
                "shared_subscription": f"$share/{SHARED_GROUP}/officina/v1/+/machines/+/#",
                "minutes": args.minutes,
                "seed": args.seed,
                "gateway_spools_on": "tmpfs" if args.spool_dir == SHM else "disk",
            },
        }
        postgres = PostgresServer()
        reason = postgres.unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        with ExitStack() as stack:
            broker = start_broker(workdir / "mosquitto")
            stack.callback(broker.stop)
            influx = start_influxdb(workdir=workdir / "influxdb", database=INFLUX_DB)
            stack.callback(influx.stop)
            database, ledger_url, dsn = stack.enter_context(ledger_database(postgres))
            SessionBook.open(ledger_url).close()  # migrated once, before two processes try
            ingests = [SharedIngest(n, broker, ledger_url, influx, workdir) for n in (1, 2)]
            for ingest in ingests:
                stack.callback(ingest.stop)
            for ingest in ingests:
                wait_until(
                    lambda i=ingest: subscribed(broker, i.client_id),
                    60,
                    f"{ingest.client_id} subscribed",
                )
                wait_until(lambda i=ingest: bool(i.metrics()), 30, f"{ingest.client_id} /metrics")
            watch = BrokerWatch(broker)
            stack.callback(watch.stop)
            watch.wait_for(BrokerWatch.STORED, 10)
            starting = time.monotonic()
            gateways = self.start_gateways(broker)
            result["gateways_startup_s"] = round(time.monotonic() - starting, 1)
            for gateway in gateways:
                stack.callback(gateway.stop)
            pids = {
                "mosquitto": pid_by_command(str(broker.config_path)),
                "influxd": pid_by_command(str(influx.config_path)),
            }
            t0 = time.time() + 2.0
            sampler = LatencySampler(influx, dsn, since_ms=int(t0 * 1000))
            backends = PostgresBackends(dsn, database, exclude={sampler.backend_pid})
            stack.callback(backends.close)
            for gateway in gateways:
                gateway.go(t0)
            time.sleep(max(0.0, t0 - time.time()))
            sampler.start()
            result |= self.measure(t0, gateways, ingests, watch, backends, pids)
            t_end_ms = int((t0 + self.seconds) * 1000)
            result |= self.drain(gateways, ingests, influx, dsn, watch)
            sampler.stop(t_end_ms)
            result["backlog"] = self.backlog_summary(
                [((made - t0 * 1000) / 1000, latency) for made, latency in sampler.telemetry]
            )
            result["latency_ms"] = {
                "telemetry_made_to_queryable_in_influxdb": percentiles(
                    [latency for _, latency in sampler.telemetry]
                ),
                "session_end_to_queryable_in_ledger": percentiles(sampler.session_ms),
                "poll_s": {"influxdb": INFLUX_POLL_S, "ledger": LEDGER_POLL_S},
                "tracer": f"{TRACER} of every workshop",
                "poll_errors": sampler.errors,
            }
            result["broker_dropped"] = watch.value(BrokerWatch.DROPPED)
        result["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
        return result

    def start_gateways(self, broker: MosquittoServer) -> list[GatewayProcess]:
        """Start every gateway process and wait until each has connected and said ready."""
        args = self.args
        gateways = []
        for index in range(args.gateways):
            gateway_dir = self.spools / f"gw-{index:02d}"
            gateway_dir.mkdir()
            plan = GatewayPlan(
                index=index,
                machines=args.machines_per_gateway,
                broker_port=broker.port,
                workdir=str(gateway_dir),
                seconds=self.seconds,
                seed=args.seed * 1000 + index,
            )
            gateways.append(GatewayProcess(plan, self.lines, self.workdir))

        def all_ready() -> bool:
            self.floor.take(self.lines)
            for gateway in gateways:
                if gateway.process.poll() is not None:
                    raise RuntimeError(f"{gateway.plan.gateway} exited; see its log")
            return len(self.floor.ready) == len(gateways)

        wait_until(all_ready, 180, "gateways ready")
        return gateways

    def measure(
        self,
        t0: float,
        gateways: Sequence[GatewayProcess],
        ingests: Sequence[SharedIngest],
        watch: BrokerWatch,
        backends: PostgresBackends,
        pids: Mapping[str, int],
    ) -> dict[str, object]:
        """Sample every second until closing time; CPU and counters at both ends."""
        processes = dict(pids)
        processes |= {g.plan.gateway: g.process.pid for g in gateways}
        processes |= {i.client_id: i.process.pid for i in ingests}
        processes["bench"] = os.getpid()
        cpu_at_start = {name: cpu_seconds(pid) or 0.0 for name, pid in processes.items()}
        busy_at_start = machine_busy_s()
        backends.sample(baseline=True)
        at_start = [i.metrics() for i in ingests]
        ingested_at_start = sum(ingested(m) for m in at_start)
        lines_at_start = sum(m.get(INFLUX_LINES, 0.0) for m in at_start)
        t_end = t0 + self.seconds
        next_backends = time.monotonic() + PG_BACKEND_POLL_S
        while True:
            now = time.time()
            if now >= t_end:
                break
            time.sleep(min(1.0 - (now - t0) % 1.0, t_end - now))
            self.tick(t0, ingests, watch)
            if time.monotonic() >= next_backends:
                backends.sample()
                next_backends += PG_BACKEND_POLL_S
        cpu_at_end = {name: cpu_seconds(pid) for name, pid in processes.items()}
        busy = machine_busy_s() - busy_at_start
        backends.sample()
        window = time.time() - t0
        at_end = [i.metrics() for i in ingests]
        ingested_total = sum(ingested(m) for m in at_end) - ingested_at_start
        influx_lines = sum(m.get(INFLUX_LINES, 0.0) for m in at_end) - lines_at_start
        self.floor.take(self.lines)
        published_per_s = self.floor.rate("acknowledged")
        cpu = {name: round((cpu_at_end[name] or 0.0) - cpu_at_start[name], 2) for name in processes}
        gateway_cpu = [cpu[g.plan.gateway] for g in gateways]
        ingest_cpu = [cpu[i.client_id] for i in ingests]
        machines = self.args.gateways * self.args.machines_per_gateway
        return {
            "window_s": round(window, 1),
            "rates": {
                "published_msgs_per_s": round(published_per_s, 1),
                "ingested_msgs_per_s": round(ingested_total / window, 1),
            },
            "cpu_s": {
                "gateways": {
                    "total": round(sum(gateway_cpu), 2),
                    "mean": round(statistics.mean(gateway_cpu), 2),
                    "min": min(gateway_cpu),
                    "max": max(gateway_cpu),
                    "each": gateway_cpu,
                },
                "ingests": ingest_cpu,
                "mosquitto": cpu["mosquitto"],
                "influxd": cpu["influxd"],
                "postgres_backends": backends.spent(),
                "bench_itself": cpu["bench"],
                "all_but_the_bench_in_cores": round(
                    (sum(cpu.values()) - cpu["bench"] + backends.spent()["cpu_s"]) / window, 2
                ),
                # Everything the machine did, this run's processes and other people's work.
                "machine_busy_in_cores": round(busy / window, 2),
            },
            "per_unit": {
                "ingest_msgs_per_cpu_s": round(ingested_total / sum(ingest_cpu))
                if sum(ingest_cpu)
                else None,
                "gateway_cpu_s_per_machine_hour": round(
                    sum(gateway_cpu) / machines * 3600 / window, 2
                ),
                "mosquitto_msgs_per_cpu_s": round(published_per_s * window / cpu["mosquitto"])
                if cpu["mosquitto"]
                else None,
                "influxd_lines_per_cpu_s": round(influx_lines / cpu["influxd"])
                if cpu["influxd"]
                else None,
            },
        }

    def tick(self, t0: float, ingests: Sequence[SharedIngest], watch: BrokerWatch) -> None:
        """One sample of the run."""
        self.floor.take(self.lines)
        metrics = [i.metrics() for i in ingests]
        self.ticks.append(
            Tick(
                t=time.time() - t0,
                published=self.floor.total("acknowledged"),
                ingested=sum(ingested(m) for m in metrics),
                broker_backlog=watch.backlog,
                ingest_backlog=sum(m.get("officina_ingest_backlog_messages", 0.0) for m in metrics),
                spool_backlog=self.floor.total("spool_backlog"),
                load=os.getloadavg()[0],
                busy_s=machine_busy_s(),
            )
        )

    def backlog_summary(self, latencies: Sequence[tuple[float, float]]) -> dict[str, object]:
        """Backlogs at their worst and at closing time, and a coarse timeline of the run with the
        telemetry latency of the points made in each stretch and the machine's load."""
        ticks = self.ticks
        every = max(1, int(self.args.timeline_s))
        timeline = []
        for at in range(every, len(ticks), every):
            before, now = ticks[at - every], ticks[at]
            span = now.t - before.t
            stretch = percentiles([ms for t, ms in latencies if before.t < t <= now.t])
            timeline.append(
                [
                    round(now.t),
                    round((now.published - before.published) / span),
                    round((now.ingested - before.ingested) / span),
                    int(now.broker_backlog),
                    int(now.ingest_backlog),
                    int(now.spool_backlog),
                    stretch.get("p50"),
                    stretch.get("p99"),
                    round((now.busy_s - before.busy_s) / span, 2),
                    round(now.load, 1),
                ]
            )
        return {
            "broker": {
                "max": int(max(t.broker_backlog for t in ticks)),
                "end": int(ticks[-1].broker_backlog),
            },
            "ingest": {
                "max": int(max(t.ingest_backlog for t in ticks)),
                "end": int(ticks[-1].ingest_backlog),
            },
            "gateway_spools": {
                "max": int(max(t.spool_backlog for t in ticks)),
                "end": int(ticks[-1].spool_backlog),
            },
            "timeline_columns": [
                "s",
                "published/s",
                "ingested/s",
                "broker",
                "ingest",
                "spools",
                "telemetry p50 ms",
                "telemetry p99 ms",
                "machine busy, cores",
                "load (1 min)",
            ],
            "timeline": timeline,
        }

    def drain(
        self,
        gateways: Sequence[GatewayProcess],
        ingests: Sequence[SharedIngest],
        influx: InfluxServer,
        dsn: str,
        watch: BrokerWatch,
    ) -> dict[str, object]:
        """Closing time: gateways badge everyone out and empty their spools; wait for the stores
        to hold everything, then compare with what the gateways made."""
        started = time.monotonic()

        def all_final() -> bool:
            self.floor.take(self.lines)
            return len(self.floor.final) == len(gateways)

        wait_until(all_final, 300, "gateways finished")
        for gateway in gateways:
            gateway.stop()
        made = {sid for line in self.floor.final.values() for sid in line["session_ids"]}
        telemetry_made = int(sum(line["telemetry"] for line in self.floor.final.values()))

        def booked_ids() -> set[str]:
            with psycopg.connect(dsn) as db:
                return {str(row[0]) for row in db.execute("SELECT id FROM sessions")}

        def points() -> int:
            series = influx.query('SELECT count("amps") FROM "telemetry"', database=INFLUX_DB)
            return int(series[0].values[0][1]) if series else 0  # type: ignore[call-overload]

        def drained() -> bool:
            backlog = sum(i.metrics().get("officina_ingest_backlog_messages", 1) for i in ingests)
            return backlog == 0 and len(booked_ids()) >= len(made) and points() >= telemetry_made

        with contextlib.suppress(RuntimeError):
            wait_until(drained, 300, "stores drained", every=1.0)
        drain_s = time.monotonic() - started
        booked = booked_ids()
        with psycopg.connect(dsn) as db:
            row = db.execute("SELECT count(*) FROM sessions WHERE deliveries > 1").fetchone()
            redelivered = int(row[0]) if row else 0
        finals = self.floor.final.values()
        in_influx = points()
        return {
            "drain_s": round(drain_s, 1),
            "sessions": {
                "made_by_gateways": len(made),
                "booked_in_ledger": len(booked),
                "equal": booked == made,
                "missing": len(made - booked),
                "unexpected": len(booked - made),
                "delivered_more_than_once": redelivered,
            },
            "telemetry": {"made_by_gateways": telemetry_made, "points_in_influxdb": in_influx},
            "gateway_messages": {
                "spooled": int(sum(line["spooled"] for line in finals)),
                "acknowledged_by_broker": int(sum(line["acknowledged"] for line in finals)),
                "badges": int(sum(line["badges"] for line in finals)),
                "states": int(sum(line["states"] for line in finals)),
            },
            "gateway_loop": {
                "late_ms_max": max(line["lag_max_ms"] for line in finals),
                "samples_read": int(sum(line["samples"] for line in finals)),
                "samples_due": int(
                    self.args.gateways * self.args.machines_per_gateway * self.seconds
                ),
            },
            "ingest_metrics_scrapes_missed": [i.missed_scrapes for i in ingests],
            "ingest_received": [
                int(i.metrics().get("officina_ingest_messages_received_total", 0)) for i in ingests
            ],
            "broker_backlog_after_drain": int(watch.backlog),
        }


def main() -> None:
    """Run the bench and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--gateways", type=int, default=20)
    parser.add_argument("--machines-per-gateway", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeline-s", type=int, default=30, help="timeline resolution")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--spool-dir",
        default=SHM if Path(SHM).is_dir() else None,
        help="where the gateways' spools live (default: tmpfs, as if each had its own disk)",
    )
    parser.add_argument("--gateway-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gateway_child:
        gateway_main(args.gateway_child)
        return
    logging.basicConfig(level=logging.WARNING)
    # SIGTERM unwinds like Ctrl-C, so everything started here is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="officina-scale-"))
    spools = Path(tempfile.mkdtemp(prefix="officina-scale-spools-", dir=args.spool_dir))
    try:
        result = Run(args, workdir, spools).execute()
    finally:
        shutil.rmtree(spools, ignore_errors=True)
        if args.keep:
            sys.stderr.write(f"logs kept in {workdir}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
