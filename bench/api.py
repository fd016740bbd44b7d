"""Api figures, one JSON line: the live floor's latency under steady load, and SSE fan-out.

Run from the repository root: `python -m bench.api [--rate R] [--seconds S] [--streams N] ...`.

Everything is real and started here on free loopback ports: Mosquitto (generated config), a
SQLite ledger in a temp dir, and the api in demo mode under uvicorn in a child process (so the
load generator does not share its interpreter). The floor holds `--machines` registered
machines, each with a retained state on the broker.

1. Floor latency: `GET /api/v1/floor` with a coordinator's bearer token, sent on an open-loop
   schedule (request i leaves at t0 + i/rate whether or not earlier ones answered), for
   `--seconds`. Latency is from the request's send to its full answer; lateness is how far the
   sender fell behind its schedule.
2. Fan-out: `--streams` clients hold `GET /api/v1/floor/events` open; one retained QoS 1 state
   change is published for a machine, and each client's delay is from just before the publish to
   the moment it reads the `tiles` line carrying that change. Repeated `--rounds` times on the
   same streams.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session

from contract import MachineState, MachineTopic, StateChange, TopicKind, encode_payload
from contract.mqtt import BrokerOptions
from harness.mosquitto import MosquittoServer, start_mosquitto
from harness.ports import LOOPBACK, free_port, port_accepts
from services.api.accounts import add_user
from services.api.app import create_app
from services.api.security import PasswordCost, Passwords, Role
from services.api.settings import ApiSettings
from services.api.state import utc_now
from services.ledger import MachineSpec, Registry, open_ledger

log = logging.getLogger("bench.api")
REPO = Path(__file__).resolve().parents[1]
SITE = "bench-site"
USERNAME = "coord"
PASSWORD = "bench-coordinator-password"
START_TIMEOUT_S = 20.0
FANOUT_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """What one bench run does."""

    rate: float
    seconds: float
    streams: int
    rounds: int
    machines: int


def machine() -> dict[str, str]:
    """CPU model, cores and Python of this machine."""
    model = platform.processor() or "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(terse=True),
    }


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of values (share in 0..1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def serve(ledger_url: str, broker_port: int, port: int) -> None:
    """Child mode: the api for the bench site, in demo mode, until SIGTERM."""
    settings = ApiSettings.for_demo(
        site=SITE, ledger_url=ledger_url, broker=BrokerOptions(host=LOOPBACK, port=broker_port)
    )
    uvicorn.run(create_app(settings), host=LOOPBACK, port=port, log_level="warning")


def prepare_ledger(ledger_url: str, machines: int) -> None:
    """A coordinator login and the site's machines, written before the api starts."""
    engine = open_ledger(ledger_url)
    try:
        registry = Registry(engine)
        for n in range(machines):
            registry.save_machine(
                MachineSpec(
                    site=SITE,
                    id=f"m-{n:02d}",
                    name=f"Machine {n}",
                    gateway=f"gw-{n // 8}",
                    idle_amps=0.8,
                    run_amps=4.0,
                )
            )
        with Session(engine) as db:
            add_user(
                db,
                passwords=Passwords(PasswordCost()),
                username=USERNAME,
                password=PASSWORD,
                role=Role.COORDINATOR,
                now=utc_now(),
            )
            db.commit()
    finally:
        engine.dispose()


class Gateway:
    """A paho 2.x client publishing retained QoS 1 state the way a gateway does."""

    def __init__(self, broker: MosquittoServer) -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-gw-{secrets.token_hex(4)}"
        )
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()

    def publish(self, machine: str, state: MachineState, *, session: str | None) -> None:
        """Publish one state change and wait for the broker's PUBACK."""
        now = int(time.time() * 1000)
        change = StateChange(
            id=f"state-{uuid.uuid4().hex[:12]}",
            ts=now,
            state=state,
            member="giulia" if session else None,
            session=session,
            since=now,
        )
        topic = str(MachineTopic(SITE, machine, TopicKind.STATE))
        info = self._client.publish(topic, encode_payload(change), qos=1, retain=True)
        info.wait_for_publish(timeout=5)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()


def start_api(ledger_url: str, broker: MosquittoServer, stack: ExitStack) -> str:
    """Start the api child process and wait until it answers and follows the broker."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.api", "--serve", ledger_url, str(broker.port), str(port)],
        cwd=REPO,
    )

    def stop() -> None:
        child.terminate()
        try:
            child.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(STOP_TIMEOUT_S)

    stack.callback(stop)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_accepts(LOOPBACK, port):
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the api did not start")
        time.sleep(0.05)
    return f"http://{LOOPBACK}:{port}"


def login(url: str) -> dict[str, str]:
    """Bearer headers for the coordinator, once the api reports the broker connected."""
    answer = httpx.post(
        f"{url}/api/v1/login", json={"username": USERNAME, "password": PASSWORD}, timeout=10
    )
    answer.raise_for_status()
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    deadline = time.monotonic() + START_TIMEOUT_S
    while not httpx.get(f"{url}/api/v1/floor", headers=headers).json()["broker_connected"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the api never connected to the broker")
        time.sleep(0.05)
    return headers


async def floor_latency(url: str, headers: dict[str, str], options: Options) -> dict[str, float]:
    """GET /floor at a steady rate, open loop; latency, lateness, achieved rate, errors."""
    total = int(options.rate * options.seconds)
    latencies: list[float] = []
    lateness: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=10) as http:
        await http.get("/api/v1/floor")  # warm the connection and the names cache

        async def one(due: float) -> None:
            nonlocal errors
            sent = time.perf_counter()
            lateness.append(sent - due)
            try:
                answer = await http.get("/api/v1/floor")
                answer.read()
            except httpx.HTTPError:
                errors += 1
                return
            if answer.status_code != 200:
                errors += 1
                return
            latencies.append(time.perf_counter() - sent)

        tasks: list[asyncio.Task[None]] = []
        start = time.perf_counter()
        for i in range(total):
            due = start + i / options.rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(due)))
        sent_for = time.perf_counter() - start
        await asyncio.gather(*tasks)
    return {
        "requests": total,
        "ok": len(latencies),
        "errors": errors,
        "target_rps": options.rate,
        "achieved_rps": round(total / sent_for, 1),
        "answered_rps": round(len(latencies) / (time.perf_counter() - start), 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies, default=0.0) * 1000, 2),
        "sender_late_p99_ms": round(percentile(lateness, 0.99) * 1000, 2),
    }


@dataclass(slots=True)
class Round:
    """One published change: what marks it on the wire and when each stream saw it."""

    marker: str = ""
    published: float = 0.0
    seen: dict[int, float] = field(default_factory=dict)


async def fan_out(
    url: str, headers: dict[str, str], gateway: Gateway, options: Options
) -> dict[str, object]:
    """Streams open on /floor/events; per round, each stream's delay to see one state change."""
    current = Round()
    connected = [asyncio.Event() for _ in range(options.streams)]
    finished = asyncio.Event()

    async def watch(http: httpx.AsyncClient, index: int) -> None:
        async with http.stream("GET", "/api/v1/floor/events") as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event: snapshot"):
                    connected[index].set()
                elif current.marker and current.marker in line and index not in current.seen:
                    current.seen[index] = time.perf_counter()
                if finished.is_set():
                    return

    limits = httpx.Limits(max_connections=options.streams + 10)
    timeout = httpx.Timeout(30, read=None)
    rounds: list[dict[str, float]] = []
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=timeout
    ) as http:
        watchers = [asyncio.create_task(watch(http, i)) for i in range(options.streams)]
        began = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), 60)
        connect_s = time.perf_counter() - began
        for n in range(options.rounds):
            session = str(uuid.uuid4())
            current.marker, current.seen = session, {}
            state = MachineState.RUNNING if n % 2 == 0 else MachineState.IDLE
            current.published = time.perf_counter()
            await asyncio.to_thread(gateway.publish, "m-00", state, session=session)
            deadline = time.perf_counter() + FANOUT_TIMEOUT_S
            while len(current.seen) < options.streams and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            delays = [t - current.published for t in current.seen.values()]
            rounds.append(
                {
                    "saw": len(delays),
                    "p50_ms": round(percentile(delays, 0.50) * 1000, 1),
                    "p99_ms": round(percentile(delays, 0.99) * 1000, 1),
                    "max_ms": round(max(delays, default=0.0) * 1000, 1),
                }
            )
            await asyncio.sleep(0.5)
        finished.set()
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
    worst = [r["max_ms"] for r in rounds]
    return {
        "streams": options.streams,
        "connect_all_s": round(connect_s, 2),
        "rounds": rounds,
        "max_ms_median_of_rounds": round(statistics.median(worst), 1) if worst else 0.0,
        "all_saw_every_round": all(r["saw"] == options.streams for r in rounds),
    }


def run(options: Options) -> dict[str, object]:
    """Start broker, ledger and api; measure; stop everything."""
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-api-") as workdir:
        root = Path(workdir)
        broker = start_mosquitto(workdir=root / "mosquitto")
        stack.callback(broker.stop)
        ledger_url = f"sqlite:///{root / 'ledger.db'}"
        prepare_ledger(ledger_url, options.machines)
        gateway = Gateway(broker)
        stack.callback(gateway.close)
        for n in range(options.machines):
            gateway.publish(f"m-{n:02d}", MachineState.IDLE, session=None)
        url = start_api(ledger_url, broker, stack)
        headers = login(url)
        floor = asyncio.run(floor_latency(url, headers, options))
        fanned = asyncio.run(fan_out(url, headers, gateway, options))
    return {
        "bench": "api",
        "machine": machine(),
        "machines_on_floor": options.machines,
        "floor_get": floor,
        "fan_out": fanned,
        "goals": {"floor_p99_ms": 50, "fan_out_ms": 500},
    }


def main() -> None:
    """Parse the options, run the bench and print its JSON line."""
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=200.0, help="GET /floor per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the load lasts")
    parser.add_argument("--streams", type=int, default=200, help="SSE clients")
    parser.add_argument("--rounds", type=int, default=5, help="state changes fanned out")
    parser.add_argument("--machines", type=int, default=24, help="machines on the floor")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = Options(
        rate=args.rate,
        seconds=args.seconds,
        streams=args.streams,
        rounds=args.rounds,
        machines=args.machines,
    )
    sys.stdout.write(json.dumps(run(options)) + "\n")


if __name__ == "__main__":
    main()
