"""The gateway's one MQTT connection: publishes what the machines say, receives acl and commands."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from contract import (
    ContractError,
    Envelope,
    GatewayStatus,
    GatewayStatusValue,
    GatewayTopic,
    MachineTopic,
    Message,
    TopicKind,
    decode_message,
    encode_payload,
)
from contract.topics import RETAINED_KINDS
from gateway.errors import LinkError

log = logging.getLogger(__name__)
QOS = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkOptions:
    """Who the gateway is on the broker and where the broker is."""

    site: str
    gateway: str
    machines: tuple[str, ...]
    host: str
    port: int
    software_version: str
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30


class GatewayLink:
    """Owns the MQTT client: thread-safe `publish`; incoming messages go to `deliver`."""

    def __init__(
        self,
        options: LinkOptions,
        *,
        deliver: Callable[[Message], None],
        wall_ms: Callable[[], int],
    ) -> None:
        self.options = options
        self._deliver = deliver
        self._wall_ms = wall_ms
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()
        self._status_topic = str(GatewayTopic(options.site, options.gateway))
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"officina-gw-{options.site}-{options.gateway}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if options.username:
            self._client.username_pw_set(options.username, options.password)
        # Unlimited queue: messages made while the broker is away wait in memory until it returns.
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.will_set(
            self._status_topic,
            encode_payload(self._status(GatewayStatusValue.OFFLINE)),
            qos=QOS,
            retain=True,
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    @property
    def counters(self) -> Mapping[str, int]:
        """A snapshot of what the link has sent, received and rejected."""
        with self._lock:
            return dict(self._counters)

    def _count(self, key: str) -> None:
        with self._lock:
            self._counters[key] += 1

    def _status(self, status: GatewayStatusValue) -> GatewayStatus:
        return GatewayStatus(
            id=f"{self.options.gateway}-{status}-{self._wall_ms()}",
            ts=self._wall_ms(),
            status=status,
            version=self.options.software_version,
            machines=self.options.machines,
        )

    def __enter__(self) -> GatewayLink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself when the broker goes away."""
        try:
            self._client.connect_async(
                self.options.host, self.options.port, keepalive=self.options.keepalive_s
            )
        except (OSError, ValueError) as err:
            raise LinkError(f"broker {self.options.host}:{self.options.port}: {err}") from err
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected to the broker, or the timeout passes."""
        return self._connected.wait(timeout)

    def stop(self, *, drain_timeout: float = 5.0) -> None:
        """Say goodbye (retained offline status), let queued messages drain, and disconnect."""
        self._stopping.set()
        if self._connected.is_set():
            info = self._publish_raw(
                self._status_topic, self._status(GatewayStatusValue.OFFLINE), retain=True
            )
            try:
                info.wait_for_publish(drain_timeout)
            except (RuntimeError, ValueError) as err:
                log.warning("offline status not confirmed before disconnect: %s", err)
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, machine: str, payload: Envelope) -> mqtt.MQTTMessageInfo:
        """Publish on the machine's topic for this kind, retained where the contract says."""
        topic = MachineTopic(self.options.site, machine, payload.kind)
        return self._publish_raw(str(topic), payload, retain=topic.retained)

    def _publish_raw(self, topic: str, payload: Envelope, *, retain: bool) -> mqtt.MQTTMessageInfo:
        info = self._client.publish(topic, encode_payload(payload), qos=QOS, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._count("publish_failed")
            raise LinkError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        self._count(f"published.{payload.kind}")
        return info

    # -- paho callbacks (run in paho's network thread) -----------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: Any,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            self._count("connect_refused")
            log.error("broker refused the gateway: %s", reason_code)
            return
        self._connected.set()
        self._count("connected")
        log.info("connected to %s:%d", self.options.host, self.options.port)
        self._publish_raw(self._status_topic, self._status(GatewayStatusValue.ONLINE), retain=True)
        filters = [
            (MachineTopic.filter(self.options.site, machine, kind), QOS)
            for machine in self.options.machines
            for kind in (TopicKind.ACL, TopicKind.COMMANDS)
        ]
        client.subscribe(filters)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: Any,
        properties: Any,
    ) -> None:
        self._connected.clear()
        self._count("disconnected")
        if self._stopping.is_set():
            log.info("disconnected from broker")
        else:
            log.warning("lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if not msg.payload and msg.topic.rsplit("/", 1)[-1] in RETAINED_KINDS:
            # An empty message on a retained topic is how that topic is cleared, not a payload.
            self._count("cleared")
            return
        try:
            message = decode_message(msg.topic, bytes(msg.payload))
        except ContractError as err:
            self._count(f"rejected.{err.field}")
            self._count("rejected")
            log.warning("rejected message on %s: %s", msg.topic, err)
            return
        self._count(f"received.{message.payload.kind}")
        self._deliver(message)
