"""The api's one MQTT connection: follows the site's retained topics and publishes acl/commands."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt

from contract import ContractError, Message, decode_message
from contract.mqtt import MqttError, connack_words, make_client
from services.api.errors import BrokerError
from services.api.settings import DEFAULT_CLIENT_ID, ApiSettings

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 5.0

MessageHandler = Callable[[Message], None]
ConnectHandler = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A topic filter and who receives the valid messages that match it."""

    topic_filter: str
    handler: MessageHandler


class BrokerLink:
    """Owns the connection: subscribes on every (re)connect, dispatches, publishes with acks."""

    def __init__(self, settings: ApiSettings) -> None:
        self._settings = settings
        self._subscriptions: list[Subscription] = []
        self._on_connected: list[ConnectHandler] = []
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self.rejected = 0
        self._client = make_client(
            settings.broker, fallback_client_id=DEFAULT_CLIENT_ID, reconnect_delay_s=(1, 10)
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._subscribe_mid: int | None = None
        self._closing = False

    def follow(self, topic_filter: str, handler: MessageHandler) -> None:
        """Receive the valid messages of a filter; call before entering the context."""
        self._subscriptions.append(Subscription(topic_filter, handler))

    def when_connected(self, handler: ConnectHandler) -> None:
        """Call handler (on the network thread: it must not block) after each (re)connect."""
        self._on_connected.append(handler)

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up right now."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected and subscribed, or the timeout passes."""
        return self._connected.wait(timeout)

    @property
    def connect_error(self) -> MqttError | None:
        """Why the last attempt to connect failed (an untrusted certificate, a refusal), if so."""
        return self._client.connect_error

    def __enter__(self) -> BrokerLink:
        try:
            self._client.connect_in_background()
        except MqttError as err:
            raise BrokerError(str(err)) from err
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """Publish at QoS 1 and wait for the broker's ack; raise BrokerError when none comes."""
        if not self._connected.is_set():
            raise BrokerError(f"not connected to the broker; {topic} not published")
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        try:
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as err:
            raise BrokerError(f"publish to {topic} failed: {err}") from err
        if not info.is_published():
            raise BrokerError(f"publish to {topic} not acknowledged in {PUBLISH_TIMEOUT_S:g} s")

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.error(
                "broker %s refused the api: %s", self._settings.broker.url, connack_words(reason)
            )
            return
        log.info("api connected to the broker")
        if not self._subscriptions:
            self._ready()
            return
        _, mid = client.subscribe([(s.topic_filter, 1) for s in self._subscriptions])
        with self._lock:
            self._subscribe_mid = mid

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any
    ) -> None:
        with self._lock:
            ours = mid == self._subscribe_mid
        if ours:
            self._ready()

    def _ready(self) -> None:
        self._connected.set()
        for handler in self._on_connected:
            handler()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, *args: Any) -> None:
        self._connected.clear()
        if not self._closing:
            log.warning("api lost the broker; reconnecting")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            message = decode_message(msg.topic, bytes(msg.payload))
        except ContractError as err:
            with self._lock:
                self.rejected += 1
            log.warning("api ignores a bad message on %s (%s): %s", msg.topic, err.field, err)
            return
        for subscription in self._subscriptions:
            if mqtt.topic_matches_sub(subscription.topic_filter, msg.topic):
                try:
                    subscription.handler(message)
                except Exception:
                    # One handler's bug must not stop the network thread for every other one.
                    log.exception(
                        "handler for %s failed on %s", subscription.topic_filter, msg.topic
                    )
