"""A gateway on bus-level fake hardware against a real Mosquitto, and a client that watches it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import Badge, MachineTopic, SessionRecord, TopicKind, decode_message
from firmware_bridge.clock import Clock
from gateway.config import GatewayConfig, MachineConfig, SpoolConfig
from gateway.daemon import Gateway
from gateway.drivers import MachineDrivers
from gateway.drivers.current import pzem004t
from harness.mosquitto import MosquittoServer
from tests.gateway.drivers.fakes.card_reader import FakeCardReader
from tests.gateway.drivers.fakes.pzem004t import FakePzem004t

SITE = "officine-sec"
MACHINE = "lathe-1"
KEY = "gateway-security-site-key-0123456"
GIULIA_CARD = "04A1B2C3"


class DrawingPzem(FakePzem004t):
    """A PZEM-004T on a 9600-baud line whose machine draws `wh_per_poll` between two polls."""

    def __init__(self, *, energy_wh: int, wh_per_poll: int) -> None:
        super().__init__(address=0x01)
        self.energy_wh = energy_wh
        self.amps, self.watts = 15.0, 3400.0
        self.wh_per_poll = wh_per_poll
        self.drawn_wh = 0
        self.lock = threading.Lock()

    def write(self, data: bytes, /) -> int:
        """A poll: the line takes its time, the machine has drawn a little more meanwhile."""
        time.sleep(0.05)  # a Modbus exchange of 25 bytes at 9600 baud, and the meter's answer
        with self.lock:
            if data[1] == pzem004t.READ_INPUT_REGISTERS:
                self.draw(self.wh_per_poll)
                self.drawn_wh += self.wh_per_poll
            return super().write(data)


class Watcher:
    """A client that keeps every badge and session published for the machine."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.badges: list[Badge] = []
        self.sessions: list[SessionRecord] = []
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_connect = lambda client, *_: client.subscribe(
            [
                (MachineTopic.filter(SITE, MACHINE, TopicKind.BADGES), 1),
                (MachineTopic.filter(SITE, MACHINE, TopicKind.SESSIONS), 1),
            ]
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise TimeoutError("the watcher did not subscribe")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        payload = decode_message(msg.topic, bytes(msg.payload)).payload
        if isinstance(payload, Badge):
            self.badges.append(payload)
        elif isinstance(payload, SessionRecord):
            self.sessions.append(payload)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def gateway_on_fakes(
    broker: MosquittoServer,
    spool_dir: Path,
    *,
    meter: FakePzem004t,
    reader: FakeCardReader,
    clock: Clock | None = None,
    access: tuple[dict[str, str], ...] = (),
) -> Gateway:
    """A gateway, not started, whose one machine has a PZEM-004T and a card reader, no relay."""
    config = GatewayConfig.model_validate(
        {
            "site": SITE,
            "gateway": f"gw-{uuid.uuid4().hex[:8]}",
            "site_key": KEY,
            "broker": {"url": f"mqtt://{broker.host}:{broker.port}"},
            "spool": SpoolConfig(path=spool_dir / "spool.db"),
            "machines": (
                MachineConfig.model_validate(
                    {
                        "id": MACHINE,
                        "current": {"driver": "pzem004t", "port": "/dev/ttyUSB0"},
                        "idle_amps": 0.8,
                        "run_amps": 2.6,
                    }
                ),
            ),
            "access": access,
        }
    )
    sensor = pzem004t.Driver(pzem004t.Config(driver="pzem004t", port="/dev/ttyUSB0"), bus=meter)
    return Gateway(
        config,
        clock=clock,
        drivers_factory=lambda _: MachineDrivers(current=sensor, reader=reader, relay=None),
    )
