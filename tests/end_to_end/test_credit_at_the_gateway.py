"""A member whose plan requires credit, refused by a real gateway process once it is spent.

Everything runs for real: Mosquitto, `officina gateway run` started with a gateway.toml, and the
board emulated on a pseudo-terminal. The access list is published as the api publishes it, with
the running time her credit buys at the machine. Her credit runs out first with the broker up,
then, after a top-up, with the broker stopped: the gateway counts the session it closed itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import (
    AccessList,
    AclEntry,
    Badge,
    BadgeDecision,
    MachineTopic,
    SessionRecord,
    TopicKind,
    card_hash,
    decode_message,
    encode_payload,
)
from firmware_bridge.emulator import Emulator
from firmware_bridge.profiles import Load
from harness.mosquitto import MosquittoServer, start_mosquitto
from tests.waiting import eventually

SITE = "officine-credito"
MACHINE = "laser-1"
KEY = "credit-test-site-key-0123456789ab"
CARD = "04A1B2C3"
CREDIT_S = 1.0  # running seconds her credit buys at the laser
RUN_S = 2.5


class Watcher:
    """The api's side of the broker: it keeps what the gateway publishes and publishes lists."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.badges: list[Badge] = []
        self.sessions: list[SessionRecord] = []
        self._subscribed = threading.Event()
        # A persistent session: what the gateway sends while this client is away still arrives.
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"watch-{uuid.uuid4().hex[:8]}",
            clean_session=False,
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(
            [
                (MachineTopic.filter(SITE, MACHINE, TopicKind.BADGES), 1),
                (MachineTopic.filter(SITE, MACHINE, TopicKind.SESSIONS), 1),
            ]
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        payload = decode_message(msg.topic, bytes(msg.payload)).payload
        if isinstance(payload, Badge):
            self.badges.append(payload)
        elif isinstance(payload, SessionRecord):
            self.sessions.append(payload)

    def publish_access(self, version: int, *, credit_s: float, until_ms: int | None) -> None:
        entry = AclEntry(
            card=card_hash(CARD, KEY.encode()),
            member="giulia",
            credit_s=credit_s,
            credit_until=until_ms,
        )
        payload = AccessList(id=f"acl-{version}", ts=0, version=version, entries=(entry,))
        topic = str(MachineTopic(SITE, MACHINE, TopicKind.ACL))
        self.client.publish(topic, encode_payload(payload), qos=1, retain=True).wait_for_publish(5)

    def refusals(self) -> list[str]:
        return [b.reason for b in self.badges if b.decision is BadgeDecision.DENIED]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _gateway_toml(path: Path, broker: MosquittoServer, port: str, spool: Path) -> None:
    path.write_text(
        f'site = "{SITE}"\n'
        f'gateway = "gw-credit"\n'
        f'site_key = "{KEY}"\n'
        "[broker]\n"
        f'url = "mqtt://{broker.host}:{broker.port}"\n'
        "[spool]\n"
        f'path = "{spool}"\n'
        "[[machines]]\n"
        f'id = "{MACHINE}"\n'
        f'mcu = {{ port = "{port}" }}\n'
        "idle_amps = 0.8\n"
        "run_amps = 2.6\n"
        "min_dwell_s = 0.5\n",
        encoding="utf-8",
    )


@contextmanager
def _gateway_process(config: Path, log: Path) -> Iterator[None]:
    """`officina gateway run`, as its systemd unit starts and stops it."""
    command = [sys.executable, "-m", "officina", "--log-level", "info", "gateway", "run"]
    command += ["--config", str(config)]
    with log.open("w") as output:
        gateway = subprocess.Popen(
            command, env=os.environ | {"PYTHONUNBUFFERED": "1"}, stdout=output, stderr=output
        )
    try:
        yield
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(15)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
            raise


def _use_the_laser(emulator: Emulator) -> None:
    """Badge in, run the laser past what her credit buys, badge out."""
    emulator.present_card(CARD)
    eventually(lambda: emulator.relay_energised, what="the relay to close for her")
    started = emulator.running_seconds
    emulator.set_load(Load.RUNNING)
    eventually(lambda: emulator.running_seconds - started >= RUN_S, what="the laser to run")
    emulator.set_load(Load.OFF)
    emulator.present_card(CARD)
    eventually(lambda: not emulator.relay_energised, what="the relay to open at badge-out")


def test_a_credit_required_member_is_refused_when_her_credit_runs_out_broker_up_and_down(
    tmp_path: Path,
) -> None:
    broker = start_mosquitto(workdir=tmp_path / "broker", persistence=True)
    try:
        watcher = Watcher(broker)
        with Emulator("drill-press", sample_period_s=0.1, seed=11) as emulator:
            config, log = tmp_path / "gateway.toml", tmp_path / "gateway.log"
            _gateway_toml(config, broker, os.path.realpath(emulator.port), tmp_path / "spool.db")
            watcher.publish_access(1, credit_s=CREDIT_S, until_ms=None)
            with _gateway_process(config, log):
                eventually(
                    lambda: "access list v1" in log.read_text(),
                    timeout=20,
                    what="the gateway to take her access list",
                )
                # Broker up: her session runs past her credit and is not cut; then she is refused.
                _use_the_laser(emulator)
                eventually(lambda: len(watcher.sessions) == 1, what="her session to arrive")
                assert watcher.sessions[0].running_s > CREDIT_S
                emulator.present_card(CARD)
                eventually(lambda: "no_credit" in watcher.refusals(), what="the refusal")
                assert not emulator.relay_energised

                # She tops up: the api counted her session and sends what her credit buys now.
                watcher.publish_access(2, credit_s=CREDIT_S, until_ms=watcher.sessions[0].ended)
                eventually(lambda: "access list v2" in log.read_text(), what="the new list")
                broker.stop()
                eventually(
                    lambda: "lost the broker" in log.read_text(),
                    what="the gateway to notice the broker is away",
                )
                # Broker down: she is let in on the cached list, spends it, and is refused.
                _use_the_laser(emulator)
                denied_before = log.read_text().count("denied (no_credit)")
                emulator.present_card(CARD)
                eventually(
                    lambda: log.read_text().count("denied (no_credit)") > denied_before,
                    what="the gateway to refuse her offline",
                )
                assert not emulator.relay_energised

                # The broker back: the offline session and refusal reach the api's side.
                broker.start()
                eventually(
                    lambda: (
                        len(watcher.sessions) == 2 and watcher.refusals().count("no_credit") == 2
                    ),
                    timeout=30,
                    what="the spooled session and refusal to arrive",
                )
        watcher.close()
    finally:
        broker.stop()
