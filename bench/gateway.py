"""Gateway figures, one JSON line: card-to-relay latency and the cost of an hour of 8 machines.

Run from the repository root: `python -m bench.gateway [--pairs N] [--hour-speed X]`.

1. Decision latency: `card_hash` of a UID and `MachineSessions.badge` against a 10,000-card access
   list, badge-in and badge-out pairs on the system clock, up to the `RelayChange` it returns.
   Then the same through a running `MachineWorker` (real spool, real link to the broker): a card
   put into its inbox to its relay's `set(True)`.
2. One simulated hour of eight machines at 1 Hz: the whole `Gateway` in a child process that does
   nothing else, fed by eight emulated MCU boards (in this process) on a time-compressed clock,
   publishing to a Mosquitto this script starts on a free loopback port. The child's CPU time and
   peak RSS are its own. A short real-time run (1 s samples, no compression) adds what the gateway
   spends per wall-clock second whatever the sample rate: that part compression hides.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import platform
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from contract import card_hash
from contract.mqtt import BrokerOptions
from firmware_bridge.clock import ScaledClock, SystemClock
from firmware_bridge.emulator import Emulator
from firmware_bridge.profiles import Load
from gateway import __version__
from gateway.access import AccessList, Grant
from gateway.config import (
    AccessConfig,
    BrokerConfig,
    GatewayConfig,
    MachineConfig,
    SpoolConfig,
    mcu_roles,
)
from gateway.daemon import Gateway
from gateway.drivers import MachineDrivers, mcu
from gateway.drivers.base import CardReading, CurrentReading
from gateway.link import GatewayLink, LinkOptions
from gateway.run_detection import RunThresholds
from gateway.session import MachineSessions, RelayChange, SessionPolicy
from gateway.spool import Spool
from gateway.worker import MachineWorker

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]

MOSQUITTO = "/usr/sbin/mosquitto"
LOOPBACK = "127.0.0.1"
SITE = "bench"
SITE_KEY = "bench-site-key-0123456789abcdef-gw"
ACCESS_CARDS = 10_000
MACHINES = 8
SIMULATED_HOUR_S = 3600
# One emulated board per machine, all lathes: motor inrush, idle spindle, cutting load.
PROFILE = "lathe"
# A day in the workshop, repeated every ten simulated minutes: (second, action).
WORKDAY: tuple[tuple[float, str], ...] = (
    (0.0, "badge"),
    (10.0, Load.IDLE),
    (30.0, Load.RUNNING),
    (400.0, Load.IDLE),
    (500.0, Load.OFF),
    (520.0, "badge"),
)
WORKDAY_CYCLE_S = 600.0


# -- helpers ----------------------------------------------------------------------------------


def machine_info() -> dict[str, object]:
    """The CPU model, its cores and the Python that ran the bench."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max of durations in seconds, in milliseconds."""
    ordered = sorted(seconds)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 4),
        "p99_ms": round(cuts[98] * 1000, 4),
        "max_ms": round(ordered[-1] * 1000, 4),
        "n": len(ordered),
    }


def uid_of(n: int) -> str:
    """A 7-byte card UID, as an ISO 14443A reader reads it."""
    return f"04{n:012X}"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@contextmanager
def mosquitto(workdir: Path) -> Iterator[int]:
    """A Mosquitto broker on a free loopback port, stopped on the way out; yields the port."""
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        "\n".join(
            [
                f"listener {port} {LOOPBACK}",
                "allow_anonymous true",
                "persistence false",
                f"user {getpass.getuser()}",
                "log_dest none",
            ]
        )
        + "\n"
    )
    broker = subprocess.Popen(
        [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10.0
        while True:
            try:
                socket.create_connection((LOOPBACK, port), timeout=0.5).close()
                break
            except OSError:
                if broker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start on port {port}") from None
                time.sleep(0.05)
        yield port
    finally:
        broker.terminate()
        try:
            broker.wait(5.0)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait()


# -- 1. card read to relay decision ------------------------------------------------------------


def access_list(key: bytes) -> tuple[AccessList, list[str]]:
    """10,000 grants, one member each; returns the list and the UIDs behind it."""
    uids = [uid_of(0xA0000 + n) for n in range(ACCESS_CARDS)]
    grants = [Grant(card_hash(uid, key), f"member-{n}") for n, uid in enumerate(uids)]
    return AccessList(grants, version=1), uids


def machine_sessions(machine: str, access: AccessList) -> MachineSessions:
    """A lathe's session machine on the system clock."""
    return MachineSessions(
        machine,
        thresholds=RunThresholds(idle_amps=0.8, run_amps=4.0, hysteresis_amps=0.3, min_dwell_s=2.0),
        policy=SessionPolicy(),
        access=access,
        clock=SystemClock(),
    )


def relay_of(effects: Sequence[object]) -> RelayChange:
    """The relay change among a badge's effects."""
    for effect in effects:
        if isinstance(effect, RelayChange):
            return effect
    raise RuntimeError("a badge of a granted card did not move the relay")


def decision_latency(pairs: int, rng: random.Random) -> dict[str, object]:
    """UID in hand to `RelayChange` returned: card_hash + MachineSessions.badge, in process."""
    key = SITE_KEY.encode()
    access, uids = access_list(key)
    sessions = machine_sessions("lathe-1", access)
    sessions.start()
    badge_in: list[float] = []
    badge_out: list[float] = []
    clock = time.perf_counter
    for _ in range(pairs):
        uid = rng.choice(uids)
        for energised, into in ((True, badge_in), (False, badge_out)):
            started = clock()
            effects = sessions.badge(card_hash(uid, key))
            relay = relay_of(effects)
            into.append(clock() - started)
            if relay.energised is not energised:
                raise RuntimeError(f"badge expected the relay energised={energised}")
    return {
        "access_cards": len(access),
        "badge_in": percentiles_ms(badge_in),
        "badge_out": percentiles_ms(badge_out),
        "all": percentiles_ms(badge_in + badge_out),
    }


class FixedCurrent:
    """A bench current sensor: the same reading once a second, as a 1 Hz board gives it."""

    def __init__(self, amps: float) -> None:
        self._reading = CurrentReading(amps=amps, volts=230.0)
        self._closed = threading.Event()

    def open(self) -> None:
        """Nothing to open."""
        self._closed.clear()

    def read(self) -> CurrentReading | None:
        """Block a second, like a measurement window, then report the fixed reading."""
        if self._closed.wait(1.0):
            return None
        return self._reading

    def close(self) -> None:
        """Let a waiting read return."""
        self._closed.set()


class TimedRelay:
    """A bench relay: remembers when, by `time.perf_counter()`, it was last told to move."""

    def __init__(self) -> None:
        self.energised = False
        self.moved_at = 0.0
        self._moved = threading.Condition()

    def open(self) -> None:
        """Start de-energised, the machine locked."""
        self.energised = False

    def set(self, energised: bool) -> None:
        """Move the relay and note the time first, before anything else runs."""
        moved_at = time.perf_counter()
        with self._moved:
            self.energised, self.moved_at = energised, moved_at
            self._moved.notify_all()

    def close(self) -> None:
        """De-energise the relay."""
        self.set(False)

    def wait_for(self, energised: bool, timeout: float) -> float:
        """The time the relay reached `energised`; RuntimeError after `timeout`."""
        with self._moved:
            if not self._moved.wait_for(lambda: self.energised is energised, timeout):
                raise RuntimeError(f"the worker did not set the relay energised={energised}")
            return self.moved_at


def worker_latency(pairs: int, broker_port: int, workdir: Path, rng: random.Random) -> object:
    """A CardReading put into a running worker's inbox to its relay's `set(True)` being called."""
    key = SITE_KEY.encode()
    access, uids = access_list(key)
    spool = Spool(workdir / "latency-spool.db")
    link = GatewayLink(
        LinkOptions(
            site=SITE,
            gateway="gw-latency",
            machines=("lathe-1",),
            broker=BrokerOptions(host=LOOPBACK, port=broker_port),
            software_version=__version__,
        ),
        spool=spool,
        deliver=lambda message: None,
        wall_ms=SystemClock().wall_ms,
    )
    relay = TimedRelay()
    config = MachineConfig(
        id="lathe-1",
        current=mcu.Config(driver="mcu", port="bench-no-port"),
        idle_amps=0.8,
        run_amps=4.0,
    )
    worker = MachineWorker(
        config=config,
        sessions=machine_sessions("lathe-1", access),
        drivers=MachineDrivers(current=FixedCurrent(6.0), reader=None, relay=relay),
        publisher=link,
        site_key=key,
        spool=spool,
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="bench-worker")
    badge_in: list[float] = []
    badge_out: list[float] = []
    link.start()
    try:
        if not link.wait_connected(10.0):
            raise RuntimeError("the latency bench's link did not connect")
        thread.start()
        time.sleep(0.5)  # the worker's start-up: drivers opened, machine announced locked
        for _ in range(pairs):
            uid = rng.choice(uids)
            for energised, into in ((True, badge_in), (False, badge_out)):
                # Cards come at random moments, not straight behind the last one's journal write.
                time.sleep(rng.uniform(0.0, 0.002))
                started = time.perf_counter()
                worker.inbox.put(CardReading(uid))
                into.append(relay.wait_for(energised, 5.0) - started)
        link.wait_sent(10.0)
    finally:
        stop.set()
        thread.join(10.0)
        link.stop()
        spool.close()
    return {
        "badge_in_to_relay_set": percentiles_ms(badge_in),
        "badge_out_to_relay_set": percentiles_ms(badge_out),
        "samples_meanwhile": worker.counters.get("samples", 0),
    }


# -- 2. an hour of eight machines: the gateway side, in a child process --------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HourPlan:
    """How the child runs its gateway: where the boards and broker are, how fast time goes."""

    ports: tuple[str, ...]
    broker_port: int
    spool_path: str
    speed: float
    samples: int  # per machine, counted from the moment every machine has reported
    wall_limit_s: float


def gateway_config(plan: HourPlan) -> GatewayConfig:
    """Eight lathes on emulated MCU boards, one badge card each."""
    return GatewayConfig(
        site=SITE,
        gateway="gw-bench",
        site_key=SITE_KEY,
        broker=BrokerConfig(url=f"mqtt://{LOOPBACK}:{plan.broker_port}"),
        spool=SpoolConfig(path=Path(plan.spool_path)),
        machines=tuple(
            MachineConfig(
                id=f"lathe-{n}",
                **mcu_roles(port),
                idle_amps=0.8,
                run_amps=4.0,
                hysteresis_amps=0.3,
            )
            for n, port in enumerate(plan.ports)
        ),
        access=tuple(
            AccessConfig(card=uid_of(n), member=f"member-{n}") for n in range(len(plan.ports))
        ),
    )


def cpu_seconds() -> float:
    """User and system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def samples_of(gateway: Gateway) -> int:
    """Current samples the workers have taken, all machines together."""
    return sum(worker.counters.get("samples", 0) for worker in gateway.workers.values())


def least_samples(gateway: Gateway) -> int:
    """The samples of the machine that has taken the fewest."""
    return min(worker.counters.get("samples", 0) for worker in gateway.workers.values())


def thread_role(name: str) -> str:
    """A gateway thread's role, without the machine or port it serves."""
    for prefix, role in (("serial-link", "serial-link"), ("machine-", "worker"), ("paho", "paho")):
        if name.startswith(prefix):
            return role
    for suffix in ("-current", "-reader"):
        if name.endswith(suffix):
            return f"poller{suffix}"
    return "main" if name == "MainThread" else name


def cpu_by_role() -> dict[str, float]:
    """CPU seconds spent so far by each role of thread (all machines together), live ones only."""
    roles = {thread.native_id: thread_role(thread.name) for thread in threading.enumerate()}
    spent: dict[str, float] = {}
    for thread in psutil.Process().threads():
        role = roles.get(thread.id, "other")
        spent[role] = round(spent.get(role, 0.0) + thread.user_time + thread.system_time, 3)
    return dict(sorted(spent.items(), key=lambda item: -item[1]))


def run_child(plan: HourPlan) -> dict[str, object]:
    """Run the gateway for the plan; say 'ready' on stdout when every machine reports."""
    clock = ScaledClock(plan.speed)
    gateway = Gateway(gateway_config(plan), clock=clock)
    gateway.start()
    deadline = time.monotonic() + plan.wall_limit_s
    pause = threading.Event()
    while least_samples(gateway) == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the gateway's machines never reported a sample")
        pause.wait(0.01)
    cpu_ready, samples_ready, wall_ready = cpu_seconds(), samples_of(gateway), time.monotonic()
    per_machine_ready, roles_ready = least_samples(gateway), cpu_by_role()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    # The bench's own polling costs the child CPU too: sleep through the expected run, then poll.
    pause.wait(clock.real_seconds(plan.samples))
    while least_samples(gateway) < per_machine_ready + plan.samples:
        if time.monotonic() > deadline:
            break
        pause.wait(0.25)
    cpu_done, samples_done, wall_done = cpu_seconds(), samples_of(gateway), time.monotonic()
    roles_done = cpu_by_role()
    by_role = {
        role: round(spent - roles_ready.get(role, 0.0), 3) for role, spent in roles_done.items()
    }
    backlog_running = gateway.spool.backlog()
    gateway.stop()
    cpu_stopped = cpu_seconds()
    counters = gateway.counters
    spool_after = Spool(plan.spool_path)
    try:
        backlog_after = spool_after.backlog()
    finally:
        spool_after.close()
    return {
        "cpu_s": round(cpu_done - cpu_ready, 3),
        "wall_s": round(wall_done - wall_ready, 3),
        "samples": samples_done - samples_ready,
        "cpu_s_to_ready": round(cpu_ready, 3),
        "cpu_s_shutdown": round(cpu_stopped - cpu_done, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "acknowledged": counters.get("link.spool.acknowledged", 0),
        "spooled": counters.get("link.spool.kept", 0),
        "dropped": counters.get("link.spool.dropped.telemetry", 0),
        "backlog_before_stop": backlog_running,
        "backlog_after_stop": backlog_after,
        "telemetry_spooled": counters.get("link.spooled.telemetry", 0),
        "badge_events": counters.get("link.spooled.badges", 0),
        "session_records": counters.get("link.spooled.sessions", 0),
        "cpu_s_by_thread_role": by_role,
    }


def child_main(plan_json: str) -> None:
    """The child process: run the plan and write its figures as the last line of stdout."""
    logging.basicConfig(level=logging.ERROR)
    fields = json.loads(plan_json)
    plan = HourPlan(
        ports=tuple(str(port) for port in fields["ports"]),
        broker_port=int(fields["broker_port"]),
        spool_path=str(fields["spool_path"]),
        speed=float(fields["speed"]),
        samples=int(fields["samples"]),
        wall_limit_s=float(fields["wall_limit_s"]),
    )
    sys.stdout.write(json.dumps(run_child(plan)) + "\n")
    sys.stdout.flush()


def act_out_workday(
    boards: Sequence[Emulator], clock: ScaledClock, until_s: float, stop: threading.Event
) -> None:
    """Each operator's ten-minute cycle, staggered by machine, on the simulated clock."""
    timeline = sorted(
        (cycle * WORKDAY_CYCLE_S + at + n * 7.0, n, action)
        for n in range(len(boards))
        for cycle in range(int(until_s // WORKDAY_CYCLE_S) + 1)
        for at, action in WORKDAY
    )
    for at, n, action in timeline:
        if at > until_s or stop.wait(max(0.0, clock.real_seconds(at - clock.monotonic()))):
            return
        if action == "badge":
            boards[n].present_card(uid_of(n))
        else:
            boards[n].set_load(action)


def gateway_hour(
    broker_port: int,
    workdir: Path,
    *,
    speed: float,
    samples: int,
    wall_limit_s: float,
    name: str,
) -> dict[str, object]:
    """Run the gateway in a child against eight emulated boards at `speed`× real time."""
    board_clock = ScaledClock(speed)
    with ExitStack() as stack:
        boards = [
            stack.enter_context(
                Emulator(PROFILE, sample_period_s=1.0 / speed, clock=board_clock, seed=n)
            )
            for n in range(MACHINES)
        ]
        plan = HourPlan(
            ports=tuple(board.port for board in boards),
            broker_port=broker_port,
            spool_path=str(workdir / f"{name}-spool.db"),
            speed=speed,
            samples=samples,
            wall_limit_s=wall_limit_s,
        )
        plan_json = json.dumps(_plan(plan))
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.gateway", "--child", plan_json],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        stop = threading.Event()
        actor: threading.Thread | None = None
        figures: dict[str, object] | None = None
        try:
            for line in child.stdout or ():
                if line.strip() == "ready":
                    scene_clock = ScaledClock(speed)
                    actor = threading.Thread(
                        target=act_out_workday,
                        args=(boards, scene_clock, float(samples), stop),
                        name="workday",
                        daemon=True,
                    )
                    actor.start()
                else:
                    figures = json.loads(line)
            if child.wait(30.0) != 0 or figures is None:
                raise RuntimeError(f"the gateway child failed ({child.returncode})")
        finally:
            stop.set()
            if actor is not None:
                actor.join(5.0)
            if child.poll() is None:
                child.kill()
                child.wait()
    return figures


def _plan(plan: HourPlan) -> dict[str, object]:
    return {
        "ports": list(plan.ports),
        "broker_port": plan.broker_port,
        "spool_path": plan.spool_path,
        "speed": plan.speed,
        "samples": plan.samples,
        "wall_limit_s": plan.wall_limit_s,
    }


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    """Run every part and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=20_000, help="badge pairs, in process")
    parser.add_argument("--worker-pairs", type=int, default=2_000, help="badge pairs, via worker")
    parser.add_argument("--hour-speed", type=float, default=50.0, help="time compression")
    parser.add_argument("--samples", type=int, default=SIMULATED_HOUR_S, help="per machine")
    parser.add_argument("--realtime-s", type=int, default=30, help="uncompressed run length")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return
    logging.basicConfig(level=logging.ERROR)
    rng = random.Random(args.seed)
    started = time.monotonic()
    result: dict[str, object] = {"bench": "gateway", "machine": machine_info()}
    result["decision_latency"] = decision_latency(args.pairs, rng)
    with tempfile.TemporaryDirectory(prefix="officina-bench-") as tmp, mosquitto(Path(tmp)) as port:
        workdir = Path(tmp)
        result["worker_latency"] = worker_latency(args.worker_pairs, port, workdir, rng)
        hour = gateway_hour(
            port,
            workdir,
            speed=args.hour_speed,
            samples=args.samples,
            wall_limit_s=args.samples / args.hour_speed * 2 + 30,
            name="hour",
        )
        realtime = gateway_hour(
            port,
            workdir,
            speed=1.0,
            samples=args.realtime_s,
            wall_limit_s=args.realtime_s * 2 + 30,
            name="realtime",
        )
    result["hour"] = summarise_hour(hour, realtime, speed=args.hour_speed)
    result["wall_s"] = round(time.monotonic() - started, 1)
    sys.stdout.write(json.dumps(result) + "\n")


def summarise_hour(
    hour: dict[str, object], realtime: dict[str, object], *, speed: float
) -> dict[str, object]:
    """CPU-seconds per simulated hour from the compressed run, and the real-time rate beside it."""
    cpu_s = float(str(hour["cpu_s"]))
    samples = int(str(hour["samples"]))
    simulated_hours = samples / MACHINES / SIMULATED_HOUR_S
    rt_cpu = float(str(realtime["cpu_s"]))
    rt_wall = float(str(realtime["wall_s"]))
    return {
        "compression": {
            "clock_speed": speed,
            "board_sample_period_real_s": round(1.0 / speed, 4),
            "simulated_s_per_sample": 1.0,
        },
        "cpu_s_per_simulated_hour": round(cpu_s / simulated_hours, 2) if samples else None,
        "peak_rss_mb": hour["peak_rss_mb"],
        "samples_processed": samples,
        "compressed_run": hour,
        "realtime_run": realtime,
        # Uncompressed, every per-second cost (pollers, ticks, keepalive) is paid in full.
        "cpu_s_per_real_hour_at_1hz": round(rt_cpu / rt_wall * 3600, 2) if rt_wall else None,
    }


if __name__ == "__main__":
    main()
