"""Machine policy from the api's retained config topic: applied live, kept, bad ones refused."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contract import GatewayPolicy, GatewayTopic, MachinePolicy, TopicKind, encode_payload
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
from gateway.run_detection import Activity
from harness.mosquitto import MosquittoServer
from harness.ports import free_port
from tests.waiting import eventually

SITE = "officine-policy"
MACHINE = "drill-1"
KEY = "gateway-test-site-key-0123456789"
GIULIA_CARD = "04A1B2C3"
# The drill press idles at about 1.6 A: below 2.6 A it idles, above a 1.2 A threshold it runs.
TOML_RUN_AMPS = 2.6
LOW_RUN_AMPS = 1.2


class ApiSide:
    """A client that writes the gateway's retained config topic, as the api does."""

    def __init__(self, broker: MosquittoServer, gateway: str) -> None:
        self.topic = str(GatewayTopic(SITE, gateway, TopicKind.CONFIG))
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send_raw(self, raw: bytes) -> None:
        """Publish bytes, retained, on the config topic."""
        self.client.publish(self.topic, raw, qos=1, retain=True).wait_for_publish(5)

    def send(self, version: int, **policy: float) -> None:
        """Publish a config with one machine's policy."""
        payload = GatewayPolicy(
            id=f"config-{version}",
            ts=1_767_225_600_000,
            version=version,
            machines=(MachinePolicy(machine=MACHINE, **policy),),
        )
        self.send_raw(encode_payload(payload))

    def close(self) -> None:
        """Clear the retained config, so it does not reach another test, and disconnect."""
        self.send_raw(b"")
        self.client.disconnect()
        self.client.loop_stop()


def gateway_config(gateway: str, port: str, spool: Path, broker_url: str) -> GatewayConfig:
    """A one-machine gateway with gateway.toml's (fallback) thresholds."""
    return GatewayConfig(
        site=SITE,
        gateway=gateway,
        site_key=KEY,
        broker=BrokerConfig(url=broker_url),
        spool=SpoolConfig(path=spool),
        machines=(
            MachineConfig(
                id=MACHINE,
                **mcu_roles(port),
                idle_amps=0.8,
                run_amps=TOML_RUN_AMPS,
                min_dwell_s=0.5,
            ),
        ),
        access=(AccessConfig(card=GIULIA_CARD, member="giulia"),),
    )


@contextmanager
def running(config: GatewayConfig) -> Iterator[Gateway]:
    """The gateway daemon, started and reading its machine."""
    with Gateway(config) as gateway:
        eventually(lambda: gateway.counters.get(f"{MACHINE}.samples", 0) > 0)
        yield gateway


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator("drill-press", sample_period_s=0.1, seed=5) as board:
        yield board


@pytest.fixture
def gateway_id() -> str:
    return f"gw-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def api_side(mosquitto: MosquittoServer, gateway_id: str) -> Iterator[ApiSide]:
    side = ApiSide(mosquitto, gateway_id)
    yield side
    side.close()


def broker_url(broker: MosquittoServer) -> str:
    """The test broker's URL."""
    return f"mqtt://{broker.host}:{broker.port}"


def activity(gateway: Gateway) -> Activity:
    """What the gateway's run detection says the machine is doing."""
    return gateway.workers[MACHINE].sessions.detector.activity


def run_amps(gateway: Gateway) -> float:
    """The run threshold the machine is judged by now."""
    return gateway.workers[MACHINE].sessions.detector.thresholds.run_amps


def test_a_lower_run_threshold_from_the_api_makes_an_idling_machine_run_without_a_restart(
    mosquitto: MosquittoServer,
    emulator: Emulator,
    api_side: ApiSide,
    gateway_id: str,
    tmp_path: Path,
) -> None:
    config = gateway_config(gateway_id, emulator.port, tmp_path / "spool.db", broker_url(mosquitto))
    with running(config) as gateway:
        assert gateway.link.wait_connected(10)
        emulator.present_card(GIULIA_CARD)
        worker = gateway.workers[MACHINE]
        eventually(lambda: emulator.relay_energised, what="the relay to close for giulia")
        session = worker.sessions.open_session
        emulator.set_load(Load.IDLE)
        eventually(lambda: activity(gateway) is Activity.IDLE, what="the machine idling")

        api_side.send(1, idle_amps=0.5, run_amps=LOW_RUN_AMPS, min_dwell_s=0.5)

        eventually(lambda: activity(gateway) is Activity.RUNNING, what="the new threshold")
        assert gateway.config_version == 1
        assert worker.sessions.open_session == session
        assert emulator.relay_energised


def test_a_bad_config_is_refused_naming_the_field_and_the_last_good_one_stays(
    mosquitto: MosquittoServer,
    emulator: Emulator,
    api_side: ApiSide,
    gateway_id: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = gateway_config(gateway_id, emulator.port, tmp_path / "spool.db", broker_url(mosquitto))
    with running(config) as gateway:
        assert gateway.link.wait_connected(10)
        api_side.send(1, idle_amps=0.5, run_amps=LOW_RUN_AMPS)
        eventually(lambda: run_amps(gateway) == LOW_RUN_AMPS, what="the first config")
        caplog.set_level(logging.WARNING, logger="gateway.link")

        api_side.send_raw(
            b'{"v":1,"id":"config-2","ts":1767225600000,"version":2,'
            b'"machines":[{"machine":"drill-1","idle_amps":3,"run_amps":1}]}'
        )
        api_side.send_raw(b"\x00 not a config")

        eventually(lambda: gateway.counters.get("link.rejected", 0) == 2, what="two refusals")
        assert "machines.0.run_amps" in caplog.text
        assert run_amps(gateway) == LOW_RUN_AMPS
        assert gateway.config_version == 1


def test_the_last_config_is_used_after_a_restart_with_no_broker(
    mosquitto: MosquittoServer,
    emulator: Emulator,
    api_side: ApiSide,
    gateway_id: str,
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool.db"
    with running(gateway_config(gateway_id, emulator.port, spool, broker_url(mosquitto))) as gw:
        assert gw.link.wait_connected(10)
        api_side.send(4, idle_amps=0.5, run_amps=LOW_RUN_AMPS, idle_timeout_s=120)
        eventually(lambda: run_amps(gw) == LOW_RUN_AMPS, what="the config")

    nowhere = f"mqtt://127.0.0.1:{free_port()}"
    with running(gateway_config(gateway_id, emulator.port, spool, nowhere)) as gateway:
        eventually(lambda: run_amps(gateway) == LOW_RUN_AMPS, what="the config from disk")
        assert not gateway.link.wait_connected(0)
        assert gateway.config_version == 4
        assert gateway.workers[MACHINE].sessions.policy.idle_timeout_s == 120


def test_an_older_config_does_not_replace_a_newer_one(
    mosquitto: MosquittoServer,
    emulator: Emulator,
    api_side: ApiSide,
    gateway_id: str,
    tmp_path: Path,
) -> None:
    config = gateway_config(gateway_id, emulator.port, tmp_path / "spool.db", broker_url(mosquitto))
    with running(config) as gateway:
        assert gateway.link.wait_connected(10)
        api_side.send(7, idle_amps=0.5, run_amps=LOW_RUN_AMPS)
        eventually(lambda: run_amps(gateway) == LOW_RUN_AMPS, what="config v7")
        api_side.send(6, idle_amps=0.5, run_amps=9.0)
        eventually(lambda: gateway.counters.get("config.stale", 0) == 1, what="v6 seen")
        assert run_amps(gateway) == LOW_RUN_AMPS


def test_an_out_of_order_machine_refuses_cards_offline_and_never_cuts_the_running_session(
    mosquitto: MosquittoServer,
    emulator: Emulator,
    api_side: ApiSide,
    gateway_id: str,
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool.db"
    out_of_order = GatewayPolicy(
        id="config-7",
        ts=1_767_225_600_000,
        version=7,
        machines=(MachinePolicy(machine=MACHINE, out_of_order="fault reported"),),
    )
    with running(gateway_config(gateway_id, emulator.port, spool, broker_url(mosquitto))) as gw:
        assert gw.link.wait_connected(10)
        emulator.present_card(GIULIA_CARD)
        eventually(lambda: emulator.relay_energised, what="badge-in")
        api_side.send_raw(encode_payload(out_of_order))
        eventually(lambda: gw.config_version == 7, what="the out-of-order config")
        eventually(lambda: gw.counters.get(f"{MACHINE}.retuned", 0) > 0, what="the retune")
        assert emulator.relay_energised  # Giulia's session goes on
        emulator.present_card(GIULIA_CARD)
        eventually(lambda: not emulator.relay_energised, what="badge-out")

    nowhere = f"mqtt://127.0.0.1:{free_port()}"
    with running(gateway_config(gateway_id, emulator.port, spool, nowhere)) as gateway:
        eventually(lambda: gateway.config_version == 7, what="the config from disk")
        eventually(lambda: gateway.workers[MACHINE].out_of_order.reason is not None)
        emulator.present_card(GIULIA_CARD)
        eventually(
            lambda: gateway.counters.get(f"{MACHINE}.badges.denied.out_of_order", 0) > 0,
            what="giulia refused",
        )
        assert not emulator.relay_energised
