"""The ingest service: one owner of the MQTT connection, the intake, the booker and the stores.

Messages are acknowledged by hand (paho's manual acks), only once the batch holding them is
durable in the ledger and InfluxDB; until then the broker counts them as in flight and, when
ingest dies, delivers them again. MQTT 5's Receive Maximum (`max_unacked`) caps how many the
broker sends ahead, which is also how a store outage turns into a backlog on the broker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from contract import GatewayTopic, MachineTopic
from contract.mqtt import MqttError, MqttProtocol, connack_words, make_client
from services.influx import InfluxClient
from services.ingest.booker import Booker
from services.ingest.counters import Counters
from services.ingest.errors import IngestError, NotConnectedError
from services.ingest.intake import DAY_MS, Intake
from services.ingest.metrics import BATCH_SECONDS_BUCKETS, Histogram, IngestMetrics, Stages
from services.ingest.mqtt_client import IngestClient
from services.ingest.settings import DEFAULT_CLIENT_ID, IngestSettings
from services.ledger import SessionBook
from services.ledger.db import shown_url

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

    def __init__(
        self, settings: IngestSettings, *, influx_flush_interval_s: float | None = None
    ) -> None:
        if influx_flush_interval_s is not None:
            settings = replace(settings, flush_interval_s=influx_flush_interval_s)
        self.settings = settings
        self._counters = Counters()
        self._batch_seconds = Histogram(BATCH_SECONDS_BUCKETS)
        self._stages = Stages()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._generation = 0
        self._client: IngestClient | None = None
        self._ledger: SessionBook | None = None
        self._influx: InfluxClient | None = None
        self._intake: Intake | None = None
        self._booker: Booker | None = None

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
        """A snapshot of what ingest has counted so far (bookings count once durable)."""
        return {**self._counters.snapshot(), **self._intake_counts()}

    def _intake_counts(self) -> Mapping[str, int]:
        intake = self._intake
        if intake is None:
            return {}
        return {"received": intake.received, "left_with_broker": intake.left_with_broker}

    def wait_for_count(self, name: str, at_least: int, timeout: float = 10.0) -> bool:
        """Block until booking counter `name` reaches at_least; False if not within timeout."""
        return self._counters.wait_for(name, at_least, timeout)

    @property
    def backlog(self) -> int:
        """Messages received and not yet acknowledged."""
        return self._intake.pending if self._intake is not None else 0

    @property
    def metrics(self) -> IngestMetrics:
        """What /metrics shows for this ingest."""
        return IngestMetrics(
            counters=self._counters,
            intake_counts=self._intake_counts,
            batch_seconds=self._batch_seconds,
            stages=self._stages,
            backlog=lambda: self.backlog,
            stores_up=lambda: self._booker.stores_up if self._booker is not None else {},
        )

    @property
    def ledger(self) -> SessionBook:
        """The ledger ingest books into (after start)."""
        if self._ledger is None:
            raise IngestError("ingest is not started")
        return self._ledger

    def flush(self) -> None:
        """Close the open batch now instead of at the flush interval (booking stays async)."""
        if self._intake is not None:
            self._intake.close_open()

    def start(self) -> None:
        """Open the ledger (migrating it) and InfluxDB, then start connecting to the broker."""
        if self._client is not None:
            raise IngestError("ingest is already started")
        settings = self.settings
        self._ledger = SessionBook.open(settings.ledger_url)
        if settings.influx is not None:
            self._influx = InfluxClient(settings.influx)
        self._intake = Intake(
            batch_size=settings.batch_size,
            flush_interval_s=settings.flush_interval_s,
            with_lines=self._influx is not None,
            max_held=settings.max_unacked,
            hold_wait_s=settings.hold_wait_s,
            pseudonym_key=settings.pseudonym_key,
            session_max_age_ms=round(settings.session_max_age_days * DAY_MS),
            stages=self._stages,
        )
        if self._influx is not None and settings.pseudonym_key is None:
            log.warning(
                "no pseudonym key: sessions are not written to InfluxDB (the dashboards' "
                "per-member panels stay empty); set --pseudonym-key"
            )
        self._booker = Booker(
            intake=self._intake,
            ledger=self._ledger,
            influx=self._influx,
            acknowledge=self._acknowledge,
            redeliver=self._reconnect,
            counters=self._counters,
            batch_seconds=self._batch_seconds,
            retry=settings.retry,
            stages=self._stages,
        )
        self._booker.start()
        try:
            self._client = self._make_client()
            self._connect(self._client)
        except MqttError as err:
            self.stop()
            raise IngestError(str(err)) from err
        log.info(
            "ingest connecting to %s as %s, ledger %s",
            settings.broker.url,
            settings.client_id,
            shown_url(settings.ledger_url),
        )

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until connected and subscribed; raise NotConnectedError after timeout seconds."""
        if not self._subscribed.wait(timeout):
            client = self._client
            why = client.connect_error if client is not None else None
            raise NotConnectedError(
                f"not subscribed on {self.settings.broker.address} after {timeout} s"
                + (f": {why}" if why is not None else "")
            )

    def stop(self) -> None:
        """Book and acknowledge what was received (within stop_timeout_s), then disconnect."""
        booker, self._booker = self._booker, None
        if booker is not None:
            booker.stop(self.settings.stop_timeout_s)
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        influx, self._influx = self._influx, None
        if influx is not None:
            influx.close()
        ledger, self._ledger = self._ledger, None
        if ledger is not None:
            ledger.close()
        self._connected.clear()
        self._subscribed.clear()

    def _connect(self, client: IngestClient) -> None:
        settings = self.settings
        properties = None
        if settings.broker.protocol is MqttProtocol.V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            # The broker keeps our session, and the messages for it, this long after we go.
            properties.SessionExpiryInterval = settings.session_expiry_s
            # Brokers that honour Receive Maximum stop here; the intake enforces it anyway.
            properties.ReceiveMaximum = settings.max_unacked
        client.connect_in_background(clean_start=False, properties=properties)

    def _reconnect(self) -> None:
        """Reconnect, so the broker delivers again what ingest left unacknowledged with it."""
        client = self._client
        if client is None:
            return
        # A clean disconnect ends paho's loop thread after the pending acknowledgements are sent;
        # the new connection then starts from a settled state, on the booker's thread.
        client.disconnect()
        client.loop_stop()
        try:
            self._connect(client)
        except MqttError as err:
            log.error("could not reconnect to the broker: %s", err)

    def _acknowledge(self, acks: Mapping[int, Sequence[int]]) -> None:
        client = self._client
        # A packet id is only meaningful on the connection that delivered it; messages of an
        # earlier connection are delivered again by the broker and booked idempotently.
        mids = acks.get(self._generation)
        if client is not None and mids:
            client.ack_many(mids)

    def _make_client(self) -> IngestClient:
        client = make_client(
            self.settings.broker,
            fallback_client_id=DEFAULT_CLIENT_ID,
            persistent=True,
            client_class=IngestClient,
        )
        client.manual_ack_set(True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_deliveries = self._on_deliveries
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
            log.error(
                "broker %s refused ingest: %s",
                self.settings.broker.url,
                connack_words(reason_code),
            )
            return
        self._generation += 1
        self._connected.set()
        log.info("ingest connected (session present: %s)", flags.session_present)
        filters = subscription_filters(self.settings.shared_group)
        if self.settings.broker.protocol is MqttProtocol.V5:
            # Retained messages only for a new subscription, not again on every reconnect.
            options = SubscribeOptions(qos=QOS, retainHandling=1)
            client.subscribe([(f, options) for f in filters])
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

    def _on_deliveries(self, deliveries: list[tuple[bytes, bytes, int]]) -> None:
        intake = self._intake
        if intake is None:
            return
        try:
            failed = intake.take_many(deliveries, generation=self._generation)
        except Exception:
            # A bug must not kill paho's network thread and with it every later message.
            log.exception("unexpected error on %d messages", len(deliveries))
            failed = len(deliveries)
        if failed:
            self._counters.add("failed.unexpected", failed)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        intake = self._intake
        if intake is None:
            return
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = repr(message._topic)  # the broker should never pass this on; keep it anyway
        try:
            intake.take(
                topic,
                bytes(message.payload),
                generation=self._generation,
                mid=message.mid if message.qos else 0,
            )
        except Exception:
            # A bug must not kill paho's network thread and with it every later message.
            log.exception("unexpected error on a message on %s", topic)
            self._counters.add("failed.unexpected")
