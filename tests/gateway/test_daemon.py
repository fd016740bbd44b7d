"""The gateway daemon against a real Mosquitto and an emulated MCU on a pseudo-terminal."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contract import (
    AccessList,
    AclEntry,
    Badge,
    BadgeDecision,
    Command,
    CommandAction,
    MachineTopic,
    SessionRecord,
    TopicKind,
    card_hash,
    decode_message,
    encode_payload,
)
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
from harness.mosquitto import MosquittoServer
from tests.waiting import eventually

SITE = "officine-test"
MACHINE = "drill-1"
KEY = "gateway-test-site-key-0123456789"
GIULIA_CARD = "04A1B2C3"
NEW_CARD = "04CAFE01"


class Observer:
    """A client that keeps every badge and session the gateway publishes."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.badges: list[Badge] = []
        self.sessions: list[SessionRecord] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(
            [
                (MachineTopic.filter(SITE, MACHINE, TopicKind.BADGES), 1),
                (MachineTopic.filter(SITE, MACHINE, TopicKind.SESSIONS), 1),
            ]
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        payload = decode_message(msg.topic, bytes(msg.payload)).payload
        if isinstance(payload, Badge):
            self.badges.append(payload)
        elif isinstance(payload, SessionRecord):
            self.sessions.append(payload)

    def publish(self, kind: TopicKind, raw: bytes, *, retain: bool = False) -> None:
        topic = str(MachineTopic(SITE, MACHINE, kind))
        self.client.publish(topic, raw, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def observer(mosquitto: MosquittoServer) -> Iterator[Observer]:
    watching = Observer(mosquitto)
    yield watching
    # Retained access lists must not leak into other tests.
    watching.publish(TopicKind.ACL, b"", retain=True)
    watching.close()


@pytest.fixture
def floor(mosquitto: MosquittoServer, tmp_path: Path) -> Iterator[tuple[Emulator, Gateway]]:
    with Emulator("drill-press", sample_period_s=0.1, seed=5) as emulator:
        config = GatewayConfig(
            site=SITE,
            gateway=f"gw-{uuid.uuid4().hex[:8]}",
            site_key=KEY,
            broker=BrokerConfig(url=f"mqtt://{mosquitto.host}:{mosquitto.port}"),
            spool=SpoolConfig(path=tmp_path / "spool.db"),
            machines=(
                MachineConfig(
                    id=MACHINE,
                    **mcu_roles(emulator.port),
                    idle_amps=0.8,
                    run_amps=2.6,
                    min_dwell_s=0.5,  # longer than a motor's inrush
                ),
            ),
            access=(AccessConfig(card=GIULIA_CARD, member="giulia"),),
        )
        with Gateway(config) as gateway:
            assert gateway.link.wait_connected(10)
            eventually(lambda: gateway.counters.get(f"{MACHINE}.samples", 0) > 0)
            yield emulator, gateway


def test_an_unknown_card_is_denied_logged_and_counted_and_the_next_card_unlocks(
    floor: tuple[Emulator, Gateway], observer: Observer, caplog: pytest.LogCaptureFixture
) -> None:
    emulator, gateway = floor
    emulator.present_card("DEADBEEF")
    eventually(lambda: len(observer.badges) == 1, what="the denial")
    assert observer.badges[0].decision is BadgeDecision.DENIED
    assert observer.badges[0].reason == "unknown_card"
    assert gateway.counters[f"{MACHINE}.badges.denied.unknown_card"] == 1
    assert "denied (unknown_card)" in caplog.text
    assert "DEADBEEF" not in caplog.text  # card UIDs never reach the logs in clear
    assert not emulator.relay_energised

    emulator.present_card(GIULIA_CARD)
    eventually(lambda: emulator.relay_energised, what="the relay to close for a known card")
    eventually(lambda: len(observer.badges) == 2, what="the grant")
    assert observer.badges[-1].decision is BadgeDecision.GRANTED
    assert observer.badges[-1].member == "giulia"


def test_garbage_on_the_serial_line_is_counted_and_the_session_goes_on(
    floor: tuple[Emulator, Gateway], observer: Observer, caplog: pytest.LogCaptureFixture
) -> None:
    emulator, gateway = floor
    emulator.present_card(GIULIA_CARD)
    eventually(lambda: emulator.relay_energised)
    emulator.set_load(Load.RUNNING)
    samples = gateway.counters[f"{MACHINE}.samples"]
    emulator.inject_garbage(b"\x00\xff$M,0,zz*0000\r\n~~~noise~~~\n")
    eventually(
        lambda: (
            gateway.counters.get(f"{MACHINE}.current.garbage_bytes", 0) > 0
            and gateway.counters.get(f"{MACHINE}.current.bad_crc", 0)
            + gateway.counters.get(f"{MACHINE}.current.malformed", 0)
            > 0
        ),
        what="the garbage to be counted",
    )
    eventually(lambda: gateway.counters[f"{MACHINE}.samples"] > samples + 5)
    emulator.present_card(GIULIA_CARD)
    eventually(lambda: len(observer.sessions) == 1, what="the session after the garbage")
    assert observer.sessions[0].running_s > 0
    assert any(r.levelno == logging.WARNING for r in caplog.records if "firmware" in r.name)


def test_a_malformed_access_list_is_rejected_and_the_next_valid_one_applies(
    floor: tuple[Emulator, Gateway], observer: Observer, caplog: pytest.LogCaptureFixture
) -> None:
    emulator, gateway = floor
    observer.publish(TopicKind.ACL, b'{"v":1,"id":"a1","ts":1,"version":"seven","entries":[]}')
    eventually(lambda: gateway.counters.get("link.rejected", 0) == 1, what="the rejection")
    assert gateway.counters["link.rejected.version"] == 1
    assert "version" in caplog.text

    entry = AclEntry(card=card_hash(NEW_CARD, KEY.encode()), member="nuovo")
    good = AccessList(id="a2", ts=2, version=1, entries=(entry,))
    observer.publish(TopicKind.ACL, encode_payload(good), retain=True)
    eventually(lambda: gateway.counters.get("link.received.acl", 0) == 1)
    emulator.present_card(NEW_CARD)
    eventually(lambda: emulator.relay_energised, what="the card from the new list to unlock")
    # The new list replaced the configured fallback: Giulia is no longer on it.
    emulator.present_card(GIULIA_CARD)
    eventually(lambda: observer.badges[-1].decision is BadgeDecision.DENIED)


def test_a_remote_lock_ends_the_session_and_opens_the_relay(
    floor: tuple[Emulator, Gateway], observer: Observer
) -> None:
    emulator, _ = floor
    emulator.present_card(GIULIA_CARD)
    eventually(lambda: emulator.relay_energised)
    command = Command(id="c1", ts=1, action=CommandAction.LOCK, by="coordinator")
    observer.publish(TopicKind.COMMANDS, encode_payload(command))
    eventually(lambda: len(observer.sessions) == 1, what="the remote lock")
    assert observer.sessions[0].end_reason == "remote_lock"
    eventually(lambda: not emulator.relay_energised)


def test_the_gateway_keeps_reading_through_an_unplugged_and_replugged_board(
    floor: tuple[Emulator, Gateway], observer: Observer
) -> None:
    emulator, gateway = floor
    emulator.present_card(GIULIA_CARD)
    eventually(lambda: emulator.relay_energised)
    emulator.set_load(Load.RUNNING)
    emulator.unplug()  # a USB cable knocked out mid-session
    samples = gateway.counters[f"{MACHINE}.samples"]
    threading.Event().wait(0.5)
    emulator.replug()
    eventually(
        lambda: gateway.counters[f"{MACHINE}.samples"] > samples + 5,
        what="readings after the replug",
    )
    assert gateway.counters[f"{MACHINE}.current.reconnects"] >= 1
    eventually(lambda: emulator.relay_energised, what="the relay as the session needs it")
    emulator.present_card(GIULIA_CARD)
    eventually(lambda: len(observer.sessions) == 1, what="the session after the replug")
    assert observer.sessions[0].end_reason == "badge_out"
