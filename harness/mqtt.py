"""A real MQTT client for tests: publish, subscribe, and read what the broker delivers, in order."""

from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from harness.errors import MqttProbeError

ANSWER_TIMEOUT_S = 5.0
_client_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Received:
    """One message as the broker delivered it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttProbe:
    """A paho-mqtt 2.x client that waits for every acknowledgement instead of sleeping."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id or f"test-probe-{next(_client_numbers)}"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=protocol,
            reconnect_on_failure=False,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._answers = threading.Condition()
        self._connack: ReasonCode | None = None
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._inbox: queue.Queue[Received] = queue.Queue()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    def connect(self, timeout: float = ANSWER_TIMEOUT_S) -> None:
        """Connect and wait for CONNACK; raise MqttProbeError when the broker refuses."""
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except OSError as err:
            raise MqttProbeError(f"cannot reach {self.host}:{self.port}: {err}") from err
        self._client.loop_start()
        with self._answers:
            answered = self._answers.wait_for(lambda: self._connack is not None, timeout)
        connack = self._connack
        if not answered or connack is None:
            self._client.loop_stop()
            raise MqttProbeError(f"no CONNACK from {self.host}:{self.port} in {timeout:g} s")
        if connack.is_failure:
            self._client.loop_stop()
            raise MqttProbeError(f"broker refused {self.client_id}: {connack}")

    def disconnect(self) -> None:
        """Disconnect cleanly and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def subscribe(
        self, topic_filter: str, *, qos: int = 1, timeout: float = ANSWER_TIMEOUT_S
    ) -> int:
        """Subscribe and wait for SUBACK; return the granted QoS or raise when refused."""
        result, mid = self._client.subscribe(topic_filter, qos=qos)
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise MqttProbeError(f"subscribe to {topic_filter!r} not sent: {result}")
        with self._answers:
            answered = self._answers.wait_for(lambda: mid in self._subacks, timeout)
        if not answered:
            raise MqttProbeError(f"no SUBACK for {topic_filter!r} in {timeout:g} s")
        granted = self._subacks.pop(mid)[0]
        if granted.is_failure:
            raise MqttProbeError(f"subscription to {topic_filter!r} refused: {granted}")
        return granted.value

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout: float = ANSWER_TIMEOUT_S,
    ) -> None:
        """Publish and, for QoS 1 and 2, wait until the broker acknowledged it."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as err:
            raise MqttProbeError(f"publish to {topic!r} failed: {err}") from err
        if not info.is_published():
            raise MqttProbeError(f"publish to {topic!r} not acknowledged in {timeout:g} s")

    def receive(self, timeout: float = ANSWER_TIMEOUT_S) -> Received:
        """The next delivered message; raise MqttProbeError when none comes before the deadline."""
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            raise MqttProbeError(f"no message delivered in {timeout:g} s") from None

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._answers:
            self._connack = reason_code
            self._answers.notify_all()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._answers:
            self._subacks[mid] = reason_codes
            self._answers.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(
            Received(message.topic, bytes(message.payload), message.qos, message.retain)
        )
