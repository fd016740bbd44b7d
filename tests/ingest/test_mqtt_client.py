"""Ingest's fast receive path books exactly what paho's own would, properties or not."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from contract import TopicKind, encode_payload
from harness.mosquitto import MosquittoServer
from services.ingest import Ingest
from tests.ingest.examples import T0, session_record, telemetry, topic
from tests.ingest.running import ingest_settings
from tests.waiting import eventually

WAIT_S = 10.0


def publish_v5(
    broker: MosquittoServer, messages: list[tuple[str, bytes, Properties | None]]
) -> None:
    """Publish at QoS 1 as an MQTT 5 client, some messages carrying properties."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert connected.wait(5)
        infos = [client.publish(t, p, qos=1, properties=props) for t, p, props in messages]
        for info in infos:
            info.wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def test_messages_with_and_without_mqtt5_properties_are_all_booked(
    mosquitto: MosquittoServer, sqlite_url: str
) -> None:
    with_properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    with_properties.MessageExpiryInterval = 3600
    with_properties.UserProperty = ("gateway", "gw-1")
    plain, decorated = session_record(start=T0), session_record(start=T0 + 1)
    messages = [
        (topic(TopicKind.SESSIONS), encode_payload(plain), None),
        (topic(TopicKind.SESSIONS), encode_payload(decorated), with_properties),
        (topic(TopicKind.TELEMETRY), encode_payload(telemetry(1)), with_properties),
        (topic(TopicKind.TELEMETRY), encode_payload(telemetry(2)), None),
    ]

    with Ingest(ingest_settings(mosquitto, sqlite_url)) as ingest:
        ingest.wait_connected(WAIT_S)
        publish_v5(mosquitto, messages)
        eventually(lambda: ingest.counters.get("sessions_booked", 0) == 2, what="both sessions")
        eventually(lambda: ingest.counters.get("telemetry", 0) == 2, what="both samples")
        eventually(lambda: ingest.backlog == 0, what="all acknowledged")
        booked = [s.id for s in ingest.ledger.sessions()]

    assert booked == [plain.id, decorated.id]
