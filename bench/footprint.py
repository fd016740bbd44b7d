"""A 20-machine workshop's whole server side on one small box, one JSON line: memory, CPU, disk.

Run from the repository root: `python -m bench.footprint [--machines 20] [--days 30] ...`.

Every part is a real process on free loopback ports, as a workshop runs them: Mosquitto
(persistence on), InfluxDB 1.x (retention and rollups set up by `officina ingest influx-setup`),
a private PostgreSQL (the ledger), `officina ingest run`, `officina api run` and `officina
statements schedule`. The site's machines, its members and a coordinator login are in the
ledger first.

The month, compressed in two parts:
1. History (`--days`, 30): every simulated day of the floor is published as fast as the broker
   takes it: for each machine, its sessions (`--sessions-per-day`, each a closed `SessionRecord`)
   and its telemetry, one sample every `--history-every-s` (60) simulated seconds instead of every
   second (a sixtieth of the points, so that the month fits in a minute or two; its points
   spread over the whole month, so InfluxDB holds a month of shards and series). Each gateway's
   status once a simulated hour. Ingest drains it all into InfluxDB and the ledger. This is
   where the peaks come from: catching up after an outage looks like this.
2. Steady (`--steady-s`, 180 s, real time): the floor as it runs, uncompressed: every machine's
   telemetry at 1 Hz, each gateway's status every 60 s, one closed session a minute (several
   times a real floor's rate), a coordinator's floor screen asking `/api/v1/floor` every 5 s,
   the scheduler on its own timer. CPU share, steady memory and disk writes come from here,
   after `--settle-s` (90 s) of the floor idle following the history (and a PostgreSQL
   CHECKPOINT, so that the month's rows are not written out during the steady phase).

Measured for each part (PostgreSQL: the postmaster and all its children) every second: the
proportional set size (PSS, /proc/<pid>/smaps_rollup: shared pages split among the processes
that share them, so that the parts add up honestly), CPU seconds (/proc/<pid>/stat) and bytes
written to disk (/proc/<pid>/io `write_bytes`). Reported: peak and steady (median over the
steady phase) PSS of each and of all, the share of one core each used in the steady phase, and
disk written per day, from the steady phase's rate times 86,400 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.api import PASSWORD, SITE, USERNAME, prepare_ledger
from bench.ingest import cpu_seconds, machine, pids_of, wait_for
from contract import (
    EndReason,
    GatewayStatus,
    GatewayStatusValue,
    MachineState,
    MachineTopic,
    SessionRecord,
    Telemetry,
    TopicKind,
    card_hash,
    encode_payload,
)
from contract.topics import GatewayTopic
from harness.influxdb import InfluxServer
from harness.ingest import REPO, IngestProcess
from harness.mosquitto import MosquittoServer
from harness.ports import LOOPBACK, free_port, port_accepts
from harness.postgres_private import start_private_postgres
from services.ledger import Registry, open_ledger

# What deploy/influxdb/small-server-environment sets, in InfluxDB 1.x's [data] words: the server
# as a workshop runs it is what is measured, unless told otherwise.
SMALL_SERVER_INFLUX_DATA = (
    'cache-snapshot-write-cold-duration="10s"',
    'cache-snapshot-memory-size="1m"',
    'index-version="tsi1"',
)

log = logging.getLogger("bench.footprint")
DAY_S = 86_400
MACHINES_PER_GATEWAY = 8
GOAL_MB, GOAL_CORE = 500.0, 0.05
OFFICINA = [sys.executable, "-m", "officina"]
MEMBERS = 40
DATABASE = ["--influx-db", "officina"]


def machine_ids(count: int) -> list[str]:
    """The site's machines, as bench.api registers them."""
    return [f"m-{n:02d}" for n in range(count)]


def gateway_of(machine_id: str) -> str:
    return f"gw-{int(machine_id[2:]) // MACHINES_PER_GATEWAY}"


class Floor:
    """Publishes what the site's gateways would, over one paho connection."""

    def __init__(self, broker: MosquittoServer, machines: list[str], site_key: str) -> None:
        self.machines = machines
        self._card = card_hash("04A1B2C3", site_key.encode())
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-floor-{uuid.uuid4().hex[:8]}"
        )
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        self._seq: dict[str, int] = dict.fromkeys(machines, 0)
        self._wh: dict[str, float] = dict.fromkeys(machines, 0.0)
        self._pending: list[mqtt.MQTTMessageInfo] = []

    def _publish(self, topic: str, payload: bytes) -> None:
        self._pending.append(self._client.publish(topic, payload, qos=1))
        if len(self._pending) >= 10_000:
            self.settle()

    def settle(self) -> None:
        """Wait for the broker to have acknowledged everything published."""
        for info in self._pending:
            info.wait_for_publish(120)
        self._pending.clear()

    def telemetry(self, machine_id: str, ts_ms: int, running: bool) -> None:
        self._seq[machine_id] += 1
        amps = 6.2 if running else 0.4
        self._wh[machine_id] += (1.43 if running else 0.09) / 3600 * 60
        sample = Telemetry(
            id=uuid.uuid4().hex[:16],
            ts=ts_ms,
            seq=self._seq[machine_id],
            amps=amps,
            volts=230.0,
            watts=round(amps * 230.0, 1),
            wh=round(self._wh[machine_id], 3),
            state=MachineState.RUNNING if running else MachineState.IDLE,
        )
        topic = str(MachineTopic(SITE, machine_id, TopicKind.TELEMETRY))
        self._publish(topic, encode_payload(sample))

    def session(self, machine_id: str, started_ms: int, minutes: int, member: str) -> None:
        record = SessionRecord(
            id=str(uuid.uuid4()),
            ts=started_ms + minutes * 60_000,
            machine=machine_id,
            member=member,
            card=self._card,
            started=started_ms,
            ended=started_ms + minutes * 60_000,
            unlocked_s=minutes * 60.0,
            running_s=minutes * 40.0,
            idle_s=minutes * 20.0,
            energy_wh=round(minutes * 0.9, 1),
            end_reason=EndReason.BADGE_OUT,
            clock_ok=True,
        )
        topic = str(MachineTopic(SITE, machine_id, TopicKind.SESSIONS))
        self._publish(topic, encode_payload(record))

    def status(self, gateway: str, ts_ms: int) -> None:
        status = GatewayStatus(
            id=uuid.uuid4().hex[:16],
            ts=ts_ms,
            status=GatewayStatusValue.ONLINE,
            version="0.1.0",
            machines=tuple(m for m in self.machines if gateway_of(m) == gateway),
        )
        self._publish(str(GatewayTopic(SITE, gateway, TopicKind.STATUS)), encode_payload(status))

    def close(self) -> None:
        self.settle()
        self._client.disconnect()
        self._client.loop_stop()


# --- measuring -------------------------------------------------------------------------------


def pss_kb(pid: int) -> tuple[int, int]:
    """Proportional set size of a process and the part of it that maps files, kB (0 once gone).

    The file-backed part (InfluxDB maps its TSM and index files) is page cache the kernel can
    take back under pressure; the rest (heap, stacks) it cannot.
    """
    pss = file = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Pss_File:"):
                file = int(line.split()[1])
    except OSError:
        return 0, 0
    return pss, file


def written_bytes(pid: int) -> int:
    """Bytes the process has caused to be written to storage."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def safe_cpu(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def children_of(parent: int) -> list[int]:
    """The direct children of a process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


class Sampler:
    """Every second: PSS, CPU seconds and bytes written of each part (a part: some processes)."""

    def __init__(self, parts: dict[str, Callable[[], list[int]]]) -> None:
        self._parts = parts
        self.samples: list[tuple[float, str, dict[str, tuple[int, float, int]]]] = []
        self.phase = "start"
        # File-backed PSS kB of each part, one entry per sample.
        self.files: list[dict[str, int]] = []
        self._files_now: dict[str, int] = {}
        # Counters of processes that ended (PostgreSQL backends come and go) are kept.
        self._gone: dict[str, dict[int, tuple[float, int]]] = {name: {} for name in parts}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def take(self) -> dict[str, tuple[int, float, int]]:
        """(PSS kB, CPU s, bytes written) of each part now."""
        now: dict[str, tuple[int, float, int]] = {}
        for name, pids_now in self._parts.items():
            seen = self._gone[name]
            pss = file = 0
            for pid in pids_now():
                whole, mapped = pss_kb(pid)
                pss += whole
                file += mapped
                cpu, wrote = safe_cpu(pid), written_bytes(pid)
                if cpu or wrote:
                    old = seen.get(pid, (0.0, 0))
                    seen[pid] = (max(cpu, old[0]), max(wrote, old[1]))
            self._files_now[name] = file
            now[name] = (
                pss,
                sum(cpu for cpu, _ in seen.values()),
                sum(wrote for _, wrote in seen.values()),
            )
        return now

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            taken = self.take()
            self.files.append(dict(self._files_now))
            self.samples.append((time.monotonic(), self.phase, taken))


def report(sampler: Sampler, steady: tuple[float, float], names: list[str]) -> dict[str, Any]:
    """Peak and steady PSS, CPU share and disk a day of each part and of all."""
    start, end = steady
    in_steady = [s for s in sampler.samples if start <= s[0] <= end]
    first, last = in_steady[0], in_steady[-1]
    span = last[0] - first[0]
    parts: dict[str, dict[str, float]] = {}
    for name in names:
        parts[name] = {
            "peak_mb": round(max(s[2][name][0] for s in sampler.samples) / 1024, 1),
            "steady_mb": round(statistics.median(s[2][name][0] for s in in_steady) / 1024, 1),
            "core_share": round((last[2][name][1] - first[2][name][1]) / span, 4),
            "disk_mb_per_day": round(
                (last[2][name][2] - first[2][name][2]) / span * DAY_S / 1e6, 1
            ),
        }
    totals = [sum(s[2][name][0] for name in names) for s in sampler.samples]
    steady_totals = [sum(s[2][name][0] for name in names) for s in in_steady]
    history = [s for s in sampler.samples if s[1] == "history"]
    all_parts: dict[str, Any] = {
        "peak_mb": round(max(totals) / 1024, 1),
        "steady_mb": round(statistics.median(steady_totals) / 1024, 1),
        "core_share": round(sum(p["core_share"] for p in parts.values()), 4),
        "disk_mb_per_day": round(sum(p["disk_mb_per_day"] for p in parts.values()), 1),
    }
    peak = max(range(len(totals)), key=totals.__getitem__)
    # What the peak of all is made of: each part at that moment, and the phase it fell in.
    all_parts["at_peak"] = {
        "phase": sampler.samples[peak][1],
        **{name: round(sampler.samples[peak][2][name][0] / 1024, 1) for name in names},
    }
    all_parts["at_peak_file_backed"] = {
        name: round(sampler.files[peak][name] / 1024, 1) for name in names
    }
    # What the kernel could not take back: PSS less its file-backed pages, at its highest.
    all_parts["peak_anon_mb"] = round(
        max(
            sum(s[2][name][0] - f[name] for name in names)
            for s, f in zip(sampler.samples, sampler.files, strict=True)
        )
        / 1024,
        1,
    )
    if history:
        all_parts["history_peak_mb"] = round(
            max(sum(s[2][name][0] for name in names) for s in history) / 1024, 1
        )
    return {"parts": parts, "all": all_parts, "steady_seconds": round(span, 1)}


# --- the run ---------------------------------------------------------------------------------


def history(floor: Floor, args: argparse.Namespace, gateways: list[str]) -> int:
    """Publish the compressed month; the number of messages."""
    now_ms = int(time.time()) * 1000
    start_ms = now_ms - args.days * DAY_S * 1000
    step_ms = args.history_every_s * 1000
    count = 0
    day_ms = DAY_S * 1000
    for day in range(args.days):
        day_start = start_ms + day * day_ms
        for index, machine_id in enumerate(floor.machines):
            # The workshop opens 08:00–20:00 (simulated); sessions spread over the day.
            opening = day_start + 8 * 3_600_000
            busy: list[tuple[int, int]] = []
            for n in range(args.sessions_per_day):
                started = opening + (n * 12 * 3_600_000) // args.sessions_per_day + index * 7_000
                minutes = 20 + (n * 13 + index) % 60
                busy.append((started, started + minutes * 60_000))
                floor.session(machine_id, started, minutes, f"member-{(index + n) % MEMBERS}")
                count += 1
            for at in range(day_start, day_start + day_ms, step_ms):
                running = any(s <= at < e for s, e in busy)
                floor.telemetry(machine_id, at + index, running)
                count += 1
        for hour in range(24):
            for gateway in gateways:
                floor.status(gateway, day_start + hour * 3_600_000)
                count += 1
    floor.settle()
    return count


def steady(floor: Floor, args: argparse.Namespace, gateways: list[str], api: str) -> int:
    """The floor in real time for --steady-s; a floor screen on the api; messages published."""
    with httpx.Client(base_url=api, timeout=10) as client:
        token = client.post(
            "/api/v1/login", json={"username": USERNAME, "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        started = time.monotonic()
        count, second = 0, 0
        while second < args.steady_s:
            due = started + second
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            now_ms = time.time_ns() // 1_000_000
            for index, machine_id in enumerate(floor.machines):
                floor.telemetry(machine_id, now_ms + index, index % 3 != 0)
                count += 1
            if second % 60 == 0:
                for gateway in gateways:
                    floor.status(gateway, now_ms)
                    count += 1
            if second % 60 == 30:
                machine_id = floor.machines[(second // 60) % len(floor.machines)]
                floor.session(machine_id, now_ms - 45 * 60_000, 45, "member-1")
                count += 1
            if second % 5 == 0:
                client.get("/api/v1/floor", headers=headers).raise_for_status()
            second += 1
    floor.settle()
    return count


def start_child(command: list[str], log_path: Path, stack: ExitStack) -> subprocess.Popen[bytes]:
    """An `officina` process, stopped (SIGTERM) when the stack closes."""
    with log_path.open("ab") as out:
        child = subprocess.Popen(
            [*OFFICINA, *command],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def stop() -> None:
        child.terminate()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    stack.callback(stop)
    return child


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start everything, run the two phases, report."""
    machines = machine_ids(args.machines)
    gateways = sorted({gateway_of(m) for m in machines})
    site_key, secret, pseudonym = (secrets.token_urlsafe(32) for _ in range(3))
    with ExitStack() as stack:
        broker = MosquittoServer(workdir=workdir / "mosquitto", persistence=True)
        broker.start()
        stack.callback(broker.stop)
        influx = InfluxServer(workdir=workdir / "influxdb", database="officina")
        if args.influx_data:
            # Settings of InfluxDB's [data] section, to weigh what they cut.
            config = influx.config_path.read_text()
            extra = "".join(f"  {option.replace('=', ' = ', 1)}\n" for option in args.influx_data)
            influx.config_path.write_text(config.replace("[data]\n", "[data]\n" + extra, 1))
        influx.start()
        stack.callback(influx.stop)
        influx.create_database("officina")
        postgres = start_private_postgres()
        stack.callback(postgres.remove)
        ledger = postgres.create_database("officina")
        subprocess.run(
            [*OFFICINA, "ingest", "influx-setup", "--influx-url", influx.url, *DATABASE],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        ingest = IngestProcess(
            broker=broker,
            ledger_url=ledger,
            influx=influx,
            client_id="ingest",
            log_path=workdir / "ingest.log",
            log_level="warning",
            extra=["--pseudonym-key", pseudonym],
        )
        stack.callback(ingest.stop, 60)
        wait_for(lambda: ingest.metric("officina_ingest_backlog_messages") == 0, 120)
        prepare_ledger(ledger, args.machines)
        engine = open_ledger(ledger)
        registry = Registry(engine)
        for number in range(MEMBERS):
            registry.add_member(member_id=f"member-{number}", name=f"Member {number}")
        engine.dispose()
        port = free_port()
        broker_url = f"mqtt://{broker.host}:{broker.port}"
        api_command = ["api", "run", "--site", SITE, "--secret", secret, "--site-key", site_key]
        api_command += ["--broker", broker_url, "--ledger", ledger, "--port", str(port)]
        api_command += ["--no-cookie-secure"]
        api = start_child(api_command, workdir / "api.log", stack)
        schedule = ["statements", "schedule", "--ledger", ledger, "--influx-url", influx.url]
        schedule += ["--influx-db", "officina", "--pseudonym-key", pseudonym]
        scheduler = start_child(schedule, workdir / "scheduler.log", stack)
        wait_for(lambda: port_accepts(LOOPBACK, port), 120, every=0.1)
        postmaster = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
        parts: dict[str, Callable[[], list[int]]] = {
            "mosquitto": lambda: pids_of(broker.config_path),
            "influxdb": lambda: pids_of(influx.config_path),
            "postgresql": lambda: [postmaster, *children_of(postmaster)],
            "ingest": lambda: [ingest.pid],
            "api": lambda: [api.pid],
            "scheduler": lambda: [scheduler.pid],
        }
        sampler = Sampler(parts)
        sampler.start()
        floor = Floor(broker, machines, site_key)
        sampler.phase = "history"
        received = "officina_ingest_messages_received_total"
        began = time.monotonic()
        published = history(floor, args, gateways)
        wait_for(lambda: (ingest.metric(received) or 0) >= published, 600, every=0.5)
        wait_for(lambda: ingest.metric("officina_ingest_backlog_messages") == 0, 120, every=0.5)
        history_s = time.monotonic() - began
        sampler.phase = "settle"
        # The month's rows reach PostgreSQL's data files at its next checkpoint, which would
        # otherwise fall in the steady phase and be counted as the floor's writes of the moment.
        engine = open_ledger(ledger)
        with engine.connect() as connection:
            connection.exec_driver_sql("CHECKPOINT")
        engine.dispose()
        time.sleep(args.settle_s)
        sampler.phase = "steady"
        steady_from = time.monotonic()
        steady_count = steady(floor, args, gateways, f"http://{LOOPBACK}:{port}")
        steady_to = time.monotonic()
        sampler.stop()
        floor.close()
        if api.poll() is not None or scheduler.poll() is not None:
            raise RuntimeError("the api or the scheduler stopped; see their logs")
        figures = report(sampler, (steady_from, steady_to), list(parts))
        figures["history"] = {
            "days": args.days,
            "messages": published,
            "seconds": round(history_s, 1),
        }
        figures["steady_messages"] = steady_count
        figures["goals"] = {
            "all_steady_mb_le_500": figures["all"]["steady_mb"] <= GOAL_MB,
            "all_peak_mb_le_500": figures["all"]["peak_mb"] <= GOAL_MB,
            "core_share_le_5pct": figures["all"]["core_share"] <= GOAL_CORE,
        }
        return figures


def main() -> None:
    """Run and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=20)
    parser.add_argument("--days", type=int, default=30, help="of compressed history")
    parser.add_argument("--history-every-s", type=int, default=60, help="telemetry, history")
    parser.add_argument("--sessions-per-day", type=int, default=8, help="per machine")
    parser.add_argument("--settle-s", type=float, default=90.0, help="after the history")
    parser.add_argument(
        "--influx-data",
        action="append",
        default=[],
        help='an InfluxDB [data] setting, e.g. cache-snapshot-write-cold-duration="1m"; '
        "default: those of deploy/influxdb/small-server-environment",
    )
    parser.add_argument(
        "--influx-as-it-comes",
        action="store_true",
        help="InfluxDB with its own defaults, not the small-server settings",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        help="KEY=VALUE in every server process's environment, e.g. GOGC=50, MALLOC_ARENA_MAX=2",
    )
    parser.add_argument("--steady-s", type=int, default=180, help="real-time seconds")
    parser.add_argument("--quick", action="store_true", help="3 days, 40 s steady")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    if not args.influx_data and not args.influx_as_it_comes:
        args.influx_data = list(SMALL_SERVER_INFLUX_DATA)
    if args.quick:
        args.days, args.steady_s, args.settle_s = 3, 40, 5.0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    for setting in args.env:
        key, _, value = setting.partition("=")
        os.environ[key] = value  # inherited by every part started below
    workdir = Path(tempfile.mkdtemp(prefix="officina-footprint-"))
    try:
        result = {"machine": machine(), "influx_data": args.influx_data} | run(args, workdir)
    finally:
        if args.keep:
            log.warning("logs kept in %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
