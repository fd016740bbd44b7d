"""The gateway's one MQTT link: publishes what machines say; takes acl, commands and config."""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, auto
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

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
from contract.mqtt import BrokerOptions, MqttConnectError, MqttError, make_client
from contract.topics import RETAINED_KINDS
from gateway.errors import LinkError
from gateway.spool import Spool, SpoolError, Waiting

log = logging.getLogger(__name__)
QOS = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkOptions:
    """Who the gateway is on the broker and where the broker is."""

    site: str
    gateway: str
    machines: tuple[str, ...]
    broker: BrokerOptions
    software_version: str
    # How many spooled messages may be handed to the broker before their acknowledgements.
    window: int = 100
    # While connected, the retained online status is sent again this often, with the spool.
    status_interval_s: float = 60.0


class _Event(Enum):
    WAKE = auto()
    CONNECTED = auto()
    DISCONNECTED = auto()
    STOP = auto()


class GatewayLink:
    """Owns the MQTT client and the spool's sender; incoming messages go to `deliver`.

    `publish` writes to the spool and returns; one sender thread hands spooled messages to paho
    in order, a window at a time, and forgets each when the broker acknowledges it (paho's
    `on_publish`). After a restart, whatever the spool still holds is sent again first.

    The retained status says online on connecting and again every `status_interval_s` while
    connected, each time with what the spool holds; the last will says offline without it.
    """

    def __init__(
        self,
        options: LinkOptions,
        *,
        spool: Spool,
        deliver: Callable[[Message], None],
        wall_ms: Callable[[], int],
    ) -> None:
        self.options = options
        self.spool = spool
        self._events: queue.Queue[_Event | int] = queue.Queue()
        self._sender = threading.Thread(target=self._send, name="spool-sender", daemon=True)
        self._deliver = deliver
        self._wall_ms = wall_ms
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()
        self._status_topic = str(GatewayTopic(options.site, options.gateway))
        try:
            self._client = make_client(
                options.broker,
                fallback_client_id=f"officina-gw-{options.site}-{options.gateway}",
                persistent=True,
            )
        except MqttError as err:
            raise LinkError(str(err)) from err
        self._client.will_set(
            self._status_topic,
            encode_payload(self._status(GatewayStatusValue.OFFLINE, with_spool=False)),
            qos=QOS,
            retain=True,
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish

    @property
    def counters(self) -> Mapping[str, int]:
        """A snapshot of what the link has sent, received and rejected, and of its spool."""
        with self._lock:
            mine = dict(self._counters)
        return mine | {f"spool.{k}": v for k, v in self.spool.counters.items()}

    def _count(self, key: str) -> None:
        with self._lock:
            self._counters[key] += 1

    def _status(self, status: GatewayStatusValue, *, with_spool: bool = True) -> GatewayStatus:
        now_ms = self._wall_ms()
        spool: int | None = None
        oldest_s: float | None = None
        if with_spool:
            try:
                waiting = self.spool.waiting()
            except SpoolError as err:
                # The status still says online or offline; only the spool is left out.
                self._count("spool_errors")
                log.error("%s", err)
            else:
                spool, oldest_s = waiting.count, _age_s(waiting, now_ms)
        return GatewayStatus(
            id=f"{self.options.gateway}-{status}-{now_ms}",
            ts=now_ms,
            status=status,
            version=self.options.software_version,
            machines=self.options.machines,
            spool=spool,
            spool_oldest_s=oldest_s,
        )

    def _publish_status(self) -> None:
        """Send the retained online status again, with the spool as it is now."""
        try:
            self._publish_raw(
                self._status_topic, self._status(GatewayStatusValue.ONLINE), retain=True
            )
        except LinkError as err:
            log.warning("%s", err)

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
            self._client.connect_in_background()
        except MqttError as err:
            raise LinkError(str(err)) from err
        self._sender.start()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected to the broker, or the timeout passes."""
        return self._connected.wait(timeout)

    @property
    def connect_error(self) -> MqttConnectError | None:
        """Why the last attempt to connect failed (an untrusted certificate, a refusal), if so."""
        return self._client.connect_error

    def wait_sent(self, timeout: float) -> bool:
        """Block until the spool is empty (everything acknowledged), or the timeout passes."""
        deadline = time.monotonic() + timeout
        while self.spool.backlog() > 0:
            if time.monotonic() >= deadline:
                return False
            self._stopping.wait(0.05)
        return True

    def stop(self, *, drain_timeout: float = 5.0) -> None:
        """Let the spool drain, say goodbye (retained offline status), and disconnect.

        Whatever is not acknowledged by then stays in the spool for the next start.
        """
        if self._connected.is_set():
            self.wait_sent(drain_timeout)
        self._stopping.set()
        self._events.put(_Event.STOP)
        if self._sender.is_alive():
            self._sender.join(drain_timeout)
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

    def publish(self, machine: str, payload: Envelope) -> None:
        """Spool a payload for the machine's topic of its kind; it is sent as soon as possible."""
        topic = MachineTopic(self.options.site, machine, payload.kind)
        droppable = payload.kind is TopicKind.TELEMETRY
        if self.spool.put(
            str(topic), encode_payload(payload), retain=topic.retained, droppable=droppable
        ):
            self._count(f"spooled.{payload.kind}")
        self._events.put(_Event.WAKE)

    # -- the sender thread ----------------------------------------------------------------------

    def _send(self) -> None:
        in_flight: dict[int, int] = {}  # paho mid → spool seq
        handed = 0  # the highest spool seq handed to paho in this process
        connected = False
        status_due = math.inf  # monotonic time of the next online status
        while True:
            wait_s = min(1.0, max(0.0, status_due - time.monotonic()))
            try:
                event = self._events.get(timeout=wait_s)
            except queue.Empty:
                event = _Event.WAKE
            acked: list[int] = []
            while True:
                if isinstance(event, int):
                    seq = in_flight.pop(event, None)
                    if seq is not None:
                        acked.append(seq)
                elif event is _Event.CONNECTED:
                    connected = True
                    # On connecting, the link said online already.
                    status_due = time.monotonic() + self.options.status_interval_s
                elif event is _Event.DISCONNECTED:
                    connected = False
                    status_due = math.inf
                elif event is _Event.STOP:
                    self._forget(acked)
                    return
                try:
                    event = self._events.get_nowait()
                except queue.Empty:
                    break
            self._forget(acked)
            if connected:
                handed = self._hand_over(in_flight, handed)
                if time.monotonic() >= status_due:
                    self._publish_status()
                    status_due = time.monotonic() + self.options.status_interval_s

    def _forget(self, acked: list[int]) -> None:
        try:
            self.spool.acknowledge(acked)
        except SpoolError as err:
            # They stay spooled and will be sent again: duplicates, never losses.
            self._count("spool_errors")
            log.error("%s", err)

    def _hand_over(self, in_flight: dict[int, int], handed: int) -> int:
        room = self.options.window - len(in_flight)
        if room <= 0:
            return handed
        for message in self.spool.pending(after=handed, limit=room):
            info = self._client.publish(
                message.topic, message.payload, qos=QOS, retain=message.retain
            )
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                self._count("publish_failed")
                log.warning("broker refused %s: %s", message.topic, mqtt.error_string(info.rc))
                return handed
            in_flight[info.mid] = message.seq
            handed = message.seq
            self._count("sent")
        return handed

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: Any,
        properties: Any,
    ) -> None:
        # Runs in paho's thread under its own lock: hand the news to the sender, touch nothing.
        self._events.put(mid)

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
        log.info("connected to %s", self.options.broker.url)
        # The online status carries the backlog it comes back with: sent before the worker is told
        # it may drain the spool.
        self._publish_raw(self._status_topic, self._status(GatewayStatusValue.ONLINE), retain=True)
        self._events.put(_Event.CONNECTED)
        filters = [
            (MachineTopic.filter(self.options.site, machine, kind), QOS)
            for machine in self.options.machines
            for kind in (TopicKind.ACL, TopicKind.COMMANDS)
        ]
        for kind in (TopicKind.CONFIG, TopicKind.BOOKINGS):
            own = GatewayTopic(self.options.site, self.options.gateway, kind)
            filters.append((str(own), QOS))
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
        self._events.put(_Event.DISCONNECTED)
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
            log.warning("rejected message on %s: %s", msg.topic, err)
            self._count(f"rejected.{err.field}")
            self._count("rejected")
            return
        self._count(f"received.{message.payload.kind}")
        self._deliver(message)


def _age_s(waiting: Waiting, now_ms: int) -> float | None:
    """Seconds since the oldest waiting message was made (its `ts`); None if nothing waits."""
    if waiting.oldest is None:
        return None
    try:
        made_ms = json.loads(waiting.oldest.payload)["ts"]
    except (ValueError, KeyError, TypeError):
        return None  # every spooled payload has a ts; a foreign row only loses its age
    if not isinstance(made_ms, int) or isinstance(made_ms, bool):
        return None
    # A clock set back makes a message look younger than nothing: say it is new.
    return max(0, now_ms - made_ms) / 1000
