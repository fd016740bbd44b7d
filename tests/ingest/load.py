"""A shop floor's worth of messages, published fast at QoS 1, and what should come of them."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import TopicKind, encode_payload
from harness.errors import InfluxQueryError
from harness.influxdb import InfluxDatabase, InfluxServer
from harness.mosquitto import MosquittoServer
from tests.ingest.examples import SITE, T0, session_record, telemetry, topic

PUBLISH_TIMEOUT_S = 30.0
_publishers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Load:
    """Messages in publish order, and how many of each kind they hold."""

    messages: tuple[tuple[str, bytes], ...]
    telemetry: int
    sessions: frozenset[str]

    def split(self, at: float) -> tuple[Sequence[tuple[str, bytes]], Sequence[tuple[str, bytes]]]:
        """The messages before and after a fraction of the load."""
        cut = int(len(self.messages) * at)
        return self.messages[:cut], self.messages[cut:]


def floor_load(*, machines: int, samples: int, session_every: int, site: str = SITE) -> Load:
    """`samples` 1 Hz telemetry per machine, interleaved, and a session every few samples."""
    messages: list[tuple[str, bytes]] = []
    sessions: set[str] = set()
    names = [f"m-{number:03d}" for number in range(machines)]
    for seq in range(samples):
        for machine in names:
            sample = telemetry(seq, amps=1.0 + seq % 7)
            messages.append(
                (topic(TopicKind.TELEMETRY, machine=machine, site=site), encode_payload(sample))
            )
            if seq % session_every == session_every - 1:
                record = session_record(
                    session_id=str(uuid.uuid4()), machine=machine, start=T0 + seq * 1000
                )
                sessions.add(record.id)
                messages.append(
                    (topic(TopicKind.SESSIONS, machine=machine, site=site), encode_payload(record))
                )
    return Load(tuple(messages), machines * samples, frozenset(sessions))


class Publisher:
    """A gateway-like client that publishes many QoS 1 messages and waits for every PUBACK."""

    def __init__(self, broker: MosquittoServer) -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"load-publisher-{next(_publishers)}"
        )
        self._client.max_inflight_messages_set(500)
        self._client.max_queued_messages_set(0)
        self._connected = threading.Event()
        self._client.on_connect = lambda *_args: self._connected.set()
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        if not self._connected.wait(5):
            raise RuntimeError(f"publisher could not connect to {broker!r}")

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish all messages at QoS 1 and return when the broker has acknowledged each."""
        infos = [self._client.publish(name, payload, qos=1) for name, payload in messages]
        for info in infos:
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
            if not info.is_published():
                raise RuntimeError(f"message {info.mid} not acknowledged by the broker")


def influx_count(database: InfluxDatabase | InfluxServer, measurement: str = "telemetry") -> int:
    """How many points a measurement holds (re-deliveries overwrite, so this counts messages)."""
    try:
        series = database.query(f'SELECT count("amps") FROM "{measurement}"')
    except InfluxQueryError:  # InfluxDB restarting: nothing to count yet
        return -1
    if not series:
        return 0
    count = series[0].rows()[0]["count"]
    return count if isinstance(count, int) else -1
