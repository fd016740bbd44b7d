"""A month of a busy workshop with everything between the machines and the statements failing.

Three gateways (six machines, a dozen members) play October 2026 in lock step with their
simulated floors, against a real Mosquitto, one real ingest process, a real InfluxDB and a real
PostgreSQL. While they do, each of these is done for real, to processes, not flags:

- the broker is stopped and started (persistent sessions, so nothing queued is lost);
- InfluxDB is stopped for a few simulated days, then started;
- the ledger's PostgreSQL is stopped for a few simulated days, then started;
- the ingest process is killed with SIGKILL and a new one started;
- a gateway loses power mid-session (SIGKILL) and comes back 45 simulated minutes later;
- a gateway is cut off from the broker for a whole day (its TCP relay is killed);
- a gateway's wall clock runs four minutes late and then jumps right, mid-session;
- afterwards, captured messages are delivered again, twice, in shuffled order.

Then the statements made from the ledger must equal, to the cent, those made from the ground
truth the floors wrote down, and InfluxDB must hold every telemetry point the sensors produced.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from contract import MachineTopic, TopicKind
from harness.influxdb import InfluxServer
from harness.ingest import IngestProcess
from harness.mosquitto import MosquittoServer
from harness.plugin import InfluxFactory, MosquittoFactory
from harness.ports import free_port
from harness.postgres_private import PrivatePostgres, start_private_postgres
from officina.simulation.floor import GatewayFaults
from officina.simulation.month import MonthPlan, MonthRun
from officina.simulation.truth import Truth, differences, read_truth, truth_statements
from officina.simulation.workshop import TIMEZONE, enter_workshop
from services.billing.engine import bill_month
from services.billing.months import Month
from services.billing.store import BillingLedger
from services.ledger.db import open_ledger
from services.ledger.models import SessionRow
from tests.ingest.load import influx_count
from tests.ingest.running import PROCESS_FLUSH_INTERVAL_S
from tests.waiting import eventually

MONTH = Month(2026, 10)
# `make soak`: the same month sampled four times as often, with other members' habits.
SOAK = os.environ.get("OFFICINA_SOAK") == "1"
SOAK_STEP_S = 15
SOAK_SEED = 4242
REPO = Path(__file__).resolve().parents[2]
INGEST_ID = "officina-ingest-resilience"
SESSIONS = TopicKind.SESSIONS.value
TELEMETRY = TopicKind.TELEMETRY.value
FAULTS = {
    "gw-hall-a": GatewayFaults(power_cut_day=9),
    "gw-hall-b": GatewayFaults(offline_day=6),
    "gw-yard": GatewayFaults(clock_late_s=240, clock_jump_day=13),
}


class Relay:
    """The TCP relay one gateway reaches the broker through, as a process of its own."""

    def __init__(self, broker: MosquittoServer, log: Path) -> None:
        self.port = free_port()
        self.broker = broker
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.resilience.tcp_proxy",
                    str(self.port),
                    self.broker.host,
                    str(self.broker.port),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=out,
            )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == b"listening"

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class Tap:
    """An MQTT client listening in on what the gateways publish, to deliver it again later."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.captured: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="resilience-tap")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda client, *_: client.subscribe(
            [(MachineTopic.filter(kind=SESSIONS), 1), (MachineTopic.filter(kind=TELEMETRY), 1)]
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.captured.append((msg.topic, bytes(msg.payload)))

    def redeliver(self, broker: MosquittoServer, *, share: float, seed: int) -> tuple[int, int]:
        """Publish every captured session and a share of the telemetry again, twice, shuffled.

        Returns how many session messages and how many messages in all were published again.
        """
        with self._lock:
            captured = list(self.captured)
        rng = random.Random(seed)
        sessions = [m for m in captured if m[0].endswith(f"/{SESSIONS}")]
        telemetry = [m for m in captured if m[0].endswith(f"/{TELEMETRY}")]
        chosen = (sessions + rng.sample(telemetry, int(len(telemetry) * share))) * 2
        rng.shuffle(chosen)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="resilience-replay")
        client.connect(broker.host, broker.port)
        client.loop_start()
        infos = [client.publish(topic, payload, qos=1) for topic, payload in chosen]
        for info in infos:
            info.wait_for_publish(30)
        client.loop_stop()
        client.disconnect()
        return 2 * len(sessions), len(chosen)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def missing_sessions(engine: Engine, truth: Truth) -> str:
    """Which sessions of the truth the ledger lacks (for a failure's message)."""
    with engine.connect() as connection:
        booked = {
            (machine, int(ended.timestamp()))
            for machine, ended in connection.execute(select(SessionRow.machine, SessionRow.ended))
        }
    late = FAULTS["gw-yard"].clock_late_s
    lines = [
        f"{s.machine} {s.member} ended {time.strftime('%d %H:%M', time.gmtime(s.ended_ms / 1e3))}"
        for s in truth.sessions
        if not any((s.machine, s.ended_ms // 1000 - d) in booked for d in (0, late))
    ]
    return f"{len(lines)} sessions not booked:\n" + "\n".join(lines)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = start_private_postgres()
    try:
        yield server
    finally:
        server.remove()


def test_a_month_under_faults_bills_exactly_what_happened(
    tmp_path: Path,
    mosquitto_factory: MosquittoFactory,
    influxdb_factory: InfluxFactory,
    postgres: PrivatePostgres,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broker = mosquitto_factory(persistence=True)
    influx: InfluxServer = influxdb_factory(database="officina")
    ledger_url = postgres.create_database("officina_resilience")
    enter_workshop(ledger_url, MONTH)

    def start_ingest() -> IngestProcess:
        return IngestProcess(
            broker=broker,
            ledger_url=ledger_url,
            influx=influx,
            client_id=INGEST_ID,
            log_path=tmp_path / "ingest.log",
            flush_interval_s=PROCESS_FLUSH_INTERVAL_S,
        )

    ingest = start_ingest()
    # Its first subscription makes its persistent session: from then on the broker keeps
    # whatever it misses. (Before it, the gateways' first messages would have nobody to go to.)
    eventually(lambda: "ingest subscribed" in ingest.log_text(), timeout=30, what="ingest up")
    relay = Relay(broker, tmp_path / "relay.log")
    relay.start()
    tap = Tap(broker)
    direct = f"mqtt://{broker.host}:{broker.port}"
    workdir = tmp_path / "floor"
    handled: set[str] = set()

    def on_event(run: MonthRun, gateway: str, event: dict[str, object]) -> None:
        nonlocal ingest
        name = event["event"]
        if name == "offline-start":
            relay.kill()
            run.note(f"{gateway}: offline for a day (its link to the broker killed)")
            run.answer(gateway)
        elif name == "offline-end":
            relay.start()
            run.note(f"{gateway}: back online")
            run.answer(gateway)
        elif name == "clock-jump":
            run.note(f"{gateway}: wall clock jumped {event['jump_ms']} ms mid-session")
        if gateway != "gw-hall-a" or name != "day":
            return
        day = int(str(event["day"])[-2:])

        def once(key: str) -> bool:
            if key in handled:
                return False
            handled.add(key)
            return True

        if day >= 5 and once("broker"):
            broker.stop()
            time.sleep(1.0)
            broker.start()
            run.note("broker stopped and started (persistent sessions)")
        elif day >= 12 and once("influx-stop"):
            influx.stop()
            run.note("InfluxDB stopped")
        elif day >= 15 and once("influx-start"):
            influx.start()
            run.note("InfluxDB started again")
        elif day >= 19 and once("pg-stop"):
            postgres.stop()
            run.note("PostgreSQL (the ledger) stopped")
        elif day >= 21 and once("pg-start"):
            postgres.start()
            run.note("PostgreSQL started again")
        elif day >= 26 and once("ingest-kill"):
            ingest.kill()
            run.note("ingest killed with SIGKILL")
            ingest = start_ingest()
            run.note("a new ingest process started on the same persistent session")

    plan = MonthPlan(
        month=MONTH,
        workdir=workdir,
        broker_urls={"gw-hall-a": direct, "gw-hall-b": relay.url, "gw-yard": direct},
        faults=FAULTS,
        step_s=SOAK_STEP_S if SOAK else 60,
        seed=SOAK_SEED if SOAK else 2026,
    )
    try:
        with MonthRun(plan, on_event) as run:
            run.wait(timeout_s=900)
        # Every store back up whatever happened (a fault may have come late in the month).
        if "influx-stop" in handled and "influx-start" not in handled:
            influx.start()
        if "pg-stop" in handled and "pg-start" not in handled:
            postgres.start()
        replayed_sessions, replayed = tap.redeliver(broker, share=0.05, seed=11)
        run.note(f"{replayed} captured messages delivered again, duplicated and shuffled")
        truth = read_truth(workdir)
        engine = open_ledger(ledger_url)

        def booked() -> int:
            with engine.connect() as connection:
                return int(connection.scalar(select(func.count()).select_from(SessionRow)) or 0)

        def deliveries() -> int:
            with engine.connect() as connection:
                return int(connection.scalar(select(func.sum(SessionRow.deliveries))) or 0)

        try:
            eventually(lambda: booked() == len(truth.sessions), timeout=180, what="sessions")
        except BaseException:
            print(missing_sessions(engine, truth))
            raise
        # The count of sessions is reached before the replay is through: wait for its deliveries.
        eventually(
            lambda: deliveries() >= len(truth.sessions) + replayed_sessions,
            timeout=180,
            what=f"{replayed_sessions} session messages delivered again",
        )
        assert booked() == len(truth.sessions)
        eventually(
            lambda: influx_count(influx) == truth.telemetry_points,
            timeout=180,
            what=f"{truth.telemetry_points} telemetry points in InfluxDB",
        )
        with Session(engine) as session:
            rows = session.scalars(select(SessionRow)).all()
        engine.dispose()
    finally:
        tap.close()
        relay.kill()
        ingest.stop()

    billing = BillingLedger.open(ledger_url)
    try:
        inputs = billing.month_inputs(MONTH, ZoneInfo(TIMEZONE))
    finally:
        billing.close()
    from_ledger = bill_month(inputs)
    from_truth = truth_statements(inputs, truth)
    assert differences(from_ledger, from_truth) == []

    power_losses = [r for r in rows if r.end_reason == "power_loss"]
    redelivered = [r for r in rows if r.deliveries > 1]
    late_clock = [r for r in rows if not r.clock_ok]
    assert power_losses, "the session the power cut ended is booked as a power loss"
    assert redelivered, "duplicated deliveries reached the ledger and were booked once"
    assert late_clock, "the session across the clock jump is flagged"
    with capsys.disabled():
        print("\nresilience: injected")
        for what in run.injected:
            print(f"  - {what}")
        print("resilience: checked")
        print(f"  - {len(truth.sessions)} sessions made, {len(rows)} booked, each once")
        print(f"  - {len(power_losses)} closed by the power cut, {len(late_clock)} flagged clock")
        print(f"  - {len(redelivered)} sessions delivered more than once, booked once")
        print(f"  - {truth.telemetry_points} telemetry points made, all in InfluxDB")
        print(
            f"  - {len(from_ledger.statements)} statements, "
            f"{sum(s.total_cents for s in from_ledger.statements) / 100:.2f} EUR in all: "
            "equal to the cent to those from the ground truth"
        )
