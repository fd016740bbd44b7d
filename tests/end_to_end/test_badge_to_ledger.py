"""One badge, one machine, one session: emulator → gateway → broker → ingest → ledger + InfluxDB."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contract import MachineTopic, TopicKind
from contract.mqtt import MqttProtocol
from firmware_bridge.emulator import Emulator
from firmware_bridge.profiles import Load
from gateway.config import (
    AccessConfig,
    BrokerConfig,
    GatewayConfig,
    MachineConfig,
    SpoolConfig,
    mcu_roles,
)
from gateway.daemon import Gateway
from harness.influxdb import InfluxDatabase
from harness.mosquitto import MosquittoServer
from services.influx import InfluxSettings
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings
from tests.waiting import eventually

SITE = "officine-test"
MACHINE = "lathe-1"
CARD = "04A1B2C3"
SAMPLE_PERIOD_S = 0.2


@dataclass
class SessionTap:
    """A bystander client that keeps the raw bytes of every session published."""

    raw: list[bytes]
    client: mqtt.Client


@pytest.fixture
def session_tap(mosquitto: MosquittoServer) -> Iterator[SessionTap]:
    """Record every session message the broker carries, as raw bytes."""
    raw: list[bytes] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, m: raw.append(bytes(m.payload))
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_connect = lambda c, *a: c.subscribe(
        MachineTopic.filter(SITE, "+", TopicKind.SESSIONS), qos=1
    )
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    assert subscribed.wait(10)
    yield SessionTap(raw, client)
    client.disconnect()
    client.loop_stop()


def gateway_config(port: str, broker: MosquittoServer, spool: Path) -> GatewayConfig:
    return GatewayConfig(
        site=SITE,
        gateway="gw-test",
        site_key="a-long-random-site-key-for-tests",
        broker=BrokerConfig(url=f"mqtt://{broker.host}:{broker.port}"),
        spool=SpoolConfig(path=spool),
        machines=(
            MachineConfig(
                id=MACHINE,
                **mcu_roles(port),
                idle_amps=0.8,
                run_amps=4.0,
                hysteresis_amps=0.3,
                min_dwell_s=0.5,  # longer than a motor's inrush
                telemetry_interval_s=SAMPLE_PERIOD_S / 2,
            ),
        ),
        access=(AccessConfig(card=CARD, member="giulia"),),
    )


def test_a_badged_session_is_booked_once_with_its_running_time_and_telemetry(
    mosquitto: MosquittoServer,
    influx_db: InfluxDatabase,
    sqlite_url: str,
    session_tap: SessionTap,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = IngestSettings(
        broker=mosquitto.options(client_id="ingest-e2e", protocol=MqttProtocol.V5),
        ledger_url=sqlite_url,
        influx=InfluxSettings(url=influx_db.url, database=influx_db.database),
    )
    with (
        Emulator("lathe", sample_period_s=SAMPLE_PERIOD_S, seed=3) as emulator,
        Ingest(settings, influx_flush_interval_s=0.2) as ingest,
    ):
        ingest.wait_connected(10)
        gateway = Gateway(gateway_config(emulator.port, mosquitto, tmp_path / "spool.db"))
        with gateway:
            assert gateway.link.wait_connected(10)
            eventually(
                lambda: gateway.counters.get(f"{MACHINE}.samples", 0) > 0,
                what="the gateway to read the machine's sensor",
            )
            emulator.present_card(CARD)
            eventually(lambda: emulator.relay_energised, what="the relay to close after badge-in")
            pause = threading.Event()
            emulator.set_load(Load.IDLE)
            pause.wait(1.0)
            emulator.set_load(Load.RUNNING)
            pause.wait(3.0)
            emulator.set_load(Load.IDLE)
            pause.wait(1.0)
            emulator.set_load(Load.OFF)
            emulator.present_card(CARD)
            eventually(lambda: not emulator.relay_energised, what="the relay to open at badge-out")
            eventually(lambda: len(ingest.ledger.sessions()) == 1, what="the session booked")
            [row] = ingest.ledger.sessions()
            assert (row.site, row.machine, row.member) == (SITE, MACHINE, "giulia")
            assert row.end_reason == "badge_out"
            # Both edges are seen at a sample, each up to one period late; a sample read late on a
            # loaded machine adds its delay: half a period more is allowed for that jitter.
            assert row.running_s == pytest.approx(
                emulator.running_seconds, abs=1.5 * SAMPLE_PERIOD_S
            )
            assert row.running_s == pytest.approx(3.0, abs=2 * SAMPLE_PERIOD_S)
            assert row.idle_s == pytest.approx(2.0, abs=3 * SAMPLE_PERIOD_S)
            assert row.card_hash != CARD and len(row.card_hash) == 64

            # The broker delivers the same session again (a gateway replaying its spool): the
            # ledger still holds exactly one row, and knows it was delivered twice.
            eventually(lambda: len(session_tap.raw) == 1, what="the tap to see the session")
            topic = str(MachineTopic(SITE, MACHINE, TopicKind.SESSIONS))
            session_tap.client.publish(topic, session_tap.raw[0], qos=1).wait_for_publish(5)
            eventually(
                lambda: ingest.counters.get("sessions_duplicate", 0) == 1,
                what="ingest to see the duplicate",
            )
            [row] = ingest.ledger.sessions()
            assert row.deliveries == 2

        # Every telemetry point the gateway published is in InfluxDB: counted, not sampled.
        counters = gateway.counters
        published = counters["link.spooled.telemetry"]
        assert published > 10
        # The spool kept everything until the broker acknowledged it, and dropped nothing.
        assert counters["link.spool.acknowledged"] == counters["link.spool.kept"]
        assert "link.spool.dropped.telemetry" not in counters

        def influx_count() -> int:
            series = influx_db.query(
                f"SELECT count(amps) FROM telemetry WHERE machine = '{MACHINE}'"
            )
            count = series[0].rows()[0]["count"] if series else 0
            assert isinstance(count, int)
            return count

        eventually(lambda: influx_count() == published, what="all telemetry in InfluxDB")
        states = influx_db.query("SELECT state FROM machine_state")
        assert {"unlocked", "running", "locked"} <= {r["state"] for r in states[0].rows()}
