"""Ingest, reading a real Mosquitto, writes the webhook events with what it books."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from contract import MachineState, TopicKind, encode_payload
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from harness.plugin import MosquittoFactory
from services.ingest import Ingest
from services.ledger import open_ledger
from services.ledger.outbox import EventType
from services.webhooks.store import WebhookStore
from services.webhooks.targets import TargetPolicy
from services.webhooks.worker import DeliveryWorker, WorkerOptions
from tests.ingest.examples import T0, session_record, state_change, topic
from tests.ingest.running import ingest_settings
from tests.webhooks.receiver import running_receiver

WAIT_S = 10.0


@pytest.fixture
def mosquitto(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    """A broker of the test's own: no retained state of another test reaches this ingest."""
    return mosquitto_factory()


@pytest.fixture
def ingest(mosquitto: MosquittoServer, ledger_url: str) -> Iterator[Ingest]:
    """Ingest on the test's broker and ledger."""
    running = Ingest(
        ingest_settings(mosquitto, ledger_url, client_id=f"ingest-{uuid.uuid4().hex[:8]}")
    )
    running.start()
    running.wait_connected(WAIT_S)
    try:
        yield running
    finally:
        running.stop()


def test_ingest_announces_a_session_once_and_each_state_it_stores(
    ingest: Ingest, mosquitto: MosquittoServer, ledger_url: str
) -> None:
    engine = open_ledger(ledger_url)
    store = WebhookStore(engine)
    try:
        with running_receiver([]) as receiver:
            types = [EventType.SESSION_CLOSED, EventType.MACHINE_STATE_CHANGED]
            sub = store.subscribe(receiver.url, types, by="admin", now=ingest_now())
            record = session_record()
            with MqttProbe(host=mosquitto.host, port=mosquitto.port) as gateway:
                running = state_change(MachineState.RUNNING, since=T0)
                gateway.publish(topic(TopicKind.STATE), encode_payload(running))
                assert ingest.wait_for_count("states", 1, WAIT_S)
                gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))
                gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))
                assert ingest.wait_for_count("sessions_duplicate", 1, WAIT_S)
            worker = DeliveryWorker(store, WorkerOptions(policy=TargetPolicy(allow_loopback=True)))
            try:
                while worker.deliver_due():
                    pass
            finally:
                worker.close()
            bodies = [json.loads(r.body) for r in receiver.accepted()]
            assert receiver.signed_right(sub.secret)
        assert [b["type"] for b in bodies] == ["machine.state_changed", "session.closed"]
        assert bodies[0]["data"]["state"] == "running"
        assert bodies[1]["data"]["id"] == record.id
    finally:
        engine.dispose()


def ingest_now() -> datetime:
    """The instant a subscription is made at."""
    return datetime.now(UTC)
