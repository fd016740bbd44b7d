"""The gateway never loses a session: broker outages, a full spool, a SIGKILL mid-session.

Each test runs the real gateway against a real Mosquitto with a real ingest booking into a real
ledger, and counts what arrives: every session exactly once, with its running time within one
sample period of what the emulated machine really ran.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.mqtt import MqttProtocol
from firmware_bridge.emulator import Emulator
from firmware_bridge.profiles import Load, machine_profile
from gateway.config import (
    AccessConfig,
    BrokerConfig,
    GatewayConfig,
    MachineConfig,
    SpoolConfig,
    mcu_roles,
)
from gateway.daemon import Gateway
from harness.mosquitto import MosquittoServer
from harness.plugin import MosquittoFactory
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings
from tests.waiting import eventually

SITE = "officine-resilience"
MACHINE = "lathe-1"
CARD = "04A1B2C3"
KEY = "resilience-test-site-key-0123456789"
SAMPLE_S = 0.2
# A start and a stop are each seen at the first sample after them (up to a period late), and a
# busy machine reads a sample later still: the running time is good to about a period and a half.
RUNNING_TOLERANCE_S = 1.5 * SAMPLE_S
pause = threading.Event()


def config(
    emulator: Emulator, broker: MosquittoServer, tmp_path: Path, **spool: object
) -> GatewayConfig:
    return GatewayConfig(
        site=SITE,
        gateway="gw-res",
        site_key=KEY,
        broker=BrokerConfig(url=f"mqtt://{broker.host}:{broker.port}", keepalive_s=5),
        spool=SpoolConfig(path=tmp_path / "spool.db", **spool),
        machines=(
            MachineConfig(
                id=MACHINE,
                **mcu_roles(emulator.port),
                idle_amps=0.8,
                run_amps=4.0,
                hysteresis_amps=0.3,
                min_dwell_s=0.5,  # longer than a motor's inrush
                telemetry_interval_s=SAMPLE_S / 2,
            ),
        ),
        access=(AccessConfig(card=CARD, member="giulia"),),
    )


@pytest.fixture
def broker(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    """A broker that keeps its sessions and queued messages across a restart."""
    return mosquitto_factory(persistence=True)


@pytest.fixture
def ingest(broker: MosquittoServer, sqlite_url: str) -> Iterator[Ingest]:
    settings = IngestSettings(
        broker=broker.options(client_id="ingest-res", protocol=MqttProtocol.V5),
        ledger_url=sqlite_url,
    )
    with Ingest(settings) as running:
        running.wait_connected(10)
        yield running


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    # The board's guard against a dead host, shortened from protocol v1's 10 s to keep tests quick.
    # A soft-started lathe: these tests are about outages; inrush is the run detector's own tests'.
    lathe = machine_profile("lathe").without_inrush()
    with Emulator(lathe, sample_period_s=SAMPLE_S, seed=11, host_silence_open_s=2.0) as board:
        yield board


def work(emulator: Emulator, *, running_s: float, idle_s: float = 0.6) -> float:
    """Badge in, set up, run, idle, badge out; return the running seconds the machine really ran.

    Setting up takes a second: a motor's inrush and a cut that starts within it are one blur of
    current, to a gateway as to an electrician with a clamp meter.
    """
    before = emulator.running_seconds
    emulator.present_card(CARD)
    eventually(lambda: emulator.relay_energised, what="badge-in")
    emulator.set_load(Load.IDLE)
    pause.wait(1.0)
    emulator.set_load(Load.RUNNING)
    pause.wait(running_s)
    emulator.set_load(Load.IDLE)
    pause.wait(idle_s)
    emulator.set_load(Load.OFF)
    emulator.present_card(CARD)
    eventually(lambda: not emulator.relay_energised, what="badge-out")
    return emulator.running_seconds - before


def ready(gateway: Gateway) -> None:
    eventually(lambda: gateway.counters.get(f"{MACHINE}.samples", 0) > 0, what="sensor readings")


def test_sessions_made_while_the_broker_is_down_are_booked_once_after_it_returns(
    broker: MosquittoServer, ingest: Ingest, emulator: Emulator, tmp_path: Path
) -> None:
    truths: list[float] = []
    with Gateway(config(emulator, broker, tmp_path)) as gateway:
        assert gateway.link.wait_connected(10)
        ready(gateway)
        truths.append(work(emulator, running_s=1.0))
        broker.stop()
        truths.append(work(emulator, running_s=1.5))  # made and closed with no broker at all
        truths.append(work(emulator, running_s=0.8))
        assert gateway.spool.backlog() > 0
        broker.start()
        eventually(lambda: len(ingest.ledger.sessions()) == 3, timeout=30, what="3 sessions")
        assert gateway.link.wait_sent(15)
    rows = ingest.ledger.sessions()
    assert len({r.id for r in rows}) == 3
    for row, truth in zip(rows, truths, strict=True):
        assert row.running_s == pytest.approx(truth, abs=RUNNING_TOLERANCE_S)


def test_a_full_spool_drops_old_telemetry_counted_and_never_a_session(
    broker: MosquittoServer, ingest: Ingest, emulator: Emulator, tmp_path: Path
) -> None:
    with Gateway(config(emulator, broker, tmp_path, max_telemetry=15)) as gateway:
        assert gateway.link.wait_connected(10)
        ready(gateway)
        broker.stop()
        truths = [work(emulator, running_s=1.0), work(emulator, running_s=1.2)]
        dropped = gateway.counters.get("link.spool.dropped.telemetry", 0)
        assert dropped > 0
        assert gateway.spool.backlog() >= 15
        broker.start()
        eventually(lambda: len(ingest.ledger.sessions()) == 2, timeout=30, what="2 sessions")
        assert gateway.link.wait_sent(15)
    rows = ingest.ledger.sessions()
    for row, truth in zip(rows, truths, strict=True):
        assert row.running_s == pytest.approx(truth, abs=RUNNING_TOLERANCE_S)


def test_a_gateway_killed_mid_session_books_it_as_power_loss_on_restart(
    broker: MosquittoServer, ingest: Ingest, emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
site = "{SITE}"
gateway = "gw-killed"
site_key = "{KEY}"

[broker]
url = "mqtt://{broker.host}:{broker.port}"

[spool]
path = "{tmp_path / "spool.db"}"
journal_interval_s = {SAMPLE_S / 2}

[[machines]]
id = "{MACHINE}"
idle_amps = 0.8
run_amps = 4.0
hysteresis_amps = 0.3
min_dwell_s = 0.5
mcu = {{ port = "{emulator.port}" }}

[[access]]
card = "{CARD}"
member = "giulia"
"""
    )
    command = [sys.executable, "-m", "officina", "gateway", "run", "--config", str(path)]
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    gateway = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        eventually(lambda: ingest.counters.get("states", 0) > 0, what="the gateway online")
        emulator.present_card(CARD)
        eventually(lambda: emulator.relay_energised, what="badge-in")
        emulator.set_load(Load.RUNNING)
        pause.wait(2.0)
        gateway.send_signal(signal.SIGKILL)
        gateway.wait(10)
        truth = emulator.running_seconds
        # Nobody is left to meter the machine: its board locks it once the host falls silent.
        eventually(lambda: not emulator.relay_energised, what="the board's host-silence guard")
        emulator.set_load(Load.OFF)
        assert ingest.ledger.sessions() == []

        gateway = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        eventually(lambda: len(ingest.ledger.sessions()) == 1, timeout=20, what="the lost session")
        [row] = ingest.ledger.sessions()
        assert row.end_reason == "power_loss"
        assert row.member == "giulia"
        # What is lost: the time since the last journal entry (half a sample here) and the lag
        # of a reading that describes the window just closed (up to two windows at the start).
        assert row.running_s == pytest.approx(truth, abs=3 * SAMPLE_S)
        assert row.running_s <= truth + SAMPLE_S
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(15)
        except subprocess.TimeoutExpired:
            gateway.kill()
            raise
