"""The ingest service: one owner of the MQTT connection, the ledger and the InfluxDB writer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from contract import GatewayTopic, MachineTopic
from services.ingest.consumer import Consumer, Counters
from services.ingest.errors import IngestError, NotConnectedError
from services.ingest.influx import InfluxError, InfluxWriter
from services.ingest.settings import IngestSettings, MqttProtocol
from services.ledger import Ledger

log = logging.getLogger(__name__)

QOS = 1
TOPIC_FILTERS = (f"{MachineTopic.filter()[:-2]}/#", GatewayTopic.filter())


def subscription_filters(shared_group: str | None) -> tuple[str, ...]:
    """The filters ingest subscribes to, as a shared subscription when a group is set."""
    if shared_group is None:
        return TOPIC_FILTERS
    return tuple(f"$share/{shared_group}/{topic_filter}" for topic_filter in TOPIC_FILTERS)


class Ingest:
    """Reads the gateways' messages from the broker and books them; use as a context manager."""

    def __init__(self, settings: IngestSettings, *, influx_flush_interval_s: float = 1.0) -> None:
        self.settings = settings
        self._influx_flush_interval_s = influx_flush_interval_s
        self._counters = Counters()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._client: mqtt.Client | None = None
        self._ledger: Ledger | None = None
        self._influx: InfluxWriter | None = None
        self._consumer: Consumer | None = None

    def __enter__(self) -> Ingest:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def counters(self) -> Mapping[str, int]:
        """A snapshot of what ingest has counted so far."""
        return self._counters.snapshot()

    def wait_for_count(self, name: str, at_least: int, timeout: float = 10.0) -> bool:
        """Block until counter `name` reaches at_least; False if it did not within timeout."""
        return self._counters.wait_for(name, at_least, timeout)

    @property
    def ledger(self) -> Ledger:
        """The ledger ingest books into (after start)."""
        if self._ledger is None:
            raise IngestError("ingest is not started")
        return self._ledger

    @property
    def influx(self) -> InfluxWriter | None:
        """The InfluxDB writer, if InfluxDB is configured and ingest is started."""
        return self._influx

    def start(self) -> None:
        """Open the ledger (migrating it) and InfluxDB, then start connecting to the broker."""
        if self._client is not None:
            raise IngestError("ingest is already started")
        settings = self.settings
        self._ledger = Ledger.open(settings.ledger_url)
        if settings.influx is not None:
            self._influx = InfluxWriter(
                settings.influx, flush_interval_s=self._influx_flush_interval_s
            )
        self._consumer = Consumer(ledger=self._ledger, influx=self._influx, counters=self._counters)
        self._client = self._make_client()
        properties = None
        if settings.protocol is MqttProtocol.V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            # The broker keeps our session, and the messages for it, this long after we go.
            properties.SessionExpiryInterval = settings.session_expiry_s
        try:
            self._client.connect_async(
                settings.broker_host,
                settings.broker_port,
                keepalive=settings.keepalive_s,
                clean_start=False,
                properties=properties,
            )
        except (OSError, ValueError) as err:
            self.stop()
            raise IngestError(
                f"broker {settings.broker_host}:{settings.broker_port}: {err}"
            ) from err
        self._client.loop_start()
        log.info(
            "ingest connecting to %s:%d as %s",
            settings.broker_host,
            settings.broker_port,
            settings.client_id,
        )

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until connected and subscribed; raise NotConnectedError after timeout seconds."""
        if not self._subscribed.wait(timeout):
            raise NotConnectedError(
                f"not subscribed on {self.settings.broker_host}:{self.settings.broker_port} "
                f"after {timeout} s"
            )

    def stop(self) -> None:
        """Disconnect, send what InfluxDB still waits for, and close the ledger."""
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        influx, self._influx = self._influx, None
        if influx is not None:
            try:
                influx.close()
            except InfluxError as err:
                log.error("InfluxDB: %s", err)
        ledger, self._ledger = self._ledger, None
        if ledger is not None:
            ledger.close()
        self._connected.clear()
        self._subscribed.clear()

    def _make_client(self) -> mqtt.Client:
        settings = self.settings
        v5 = settings.protocol is MqttProtocol.V5
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            # MQTT 3.1.1 keeps the session with clean_session False (v5 uses clean_start).
            clean_session=None if v5 else False,
        )
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("broker refused ingest: %s", reason_code)
            return
        self._connected.set()
        log.info("ingest connected (session present: %s)", flags.session_present)
        filters = subscription_filters(self.settings.shared_group)
        if self.settings.protocol is MqttProtocol.V5:
            client.subscribe([(f, SubscribeOptions(qos=QOS)) for f in filters])
        else:
            client.subscribe([(f, QOS) for f in filters])

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.error("broker refused ingest's subscriptions: %s", ", ".join(refused))
            return
        self._subscribed.set()
        log.info(
            "ingest subscribed to %s", ", ".join(subscription_filters(self.settings.shared_group))
        )

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()
        self._subscribed.clear()
        if reason_code.is_failure:
            log.warning("ingest lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = repr(message._topic)  # the broker should never pass this on; keep it anyway
        try:
            consumer.handle(topic, bytes(message.payload))
        except Exception:
            # A bug must not kill paho's network thread and with it every later message.
            log.exception("unexpected error on a message on %s", topic)
            self._counters.add("failed")
            self._counters.add("failed.unexpected")
