"""15.2: the broker passes nothing above the contract's payload limit, and loses nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import MAX_PAYLOAD_BYTES
from harness.errors import MqttProbeError
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from tests.security.conftest import AttackLog

DEPLOYED_CONF = Path(__file__).parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
TOPIC = "officina/v1/officina-nord/machines/lathe-1/sessions"


@pytest.fixture
def subscriber(mosquitto: MosquittoServer) -> Iterator[MqttProbe]:
    """A client that hears everything on the machine's sessions topic."""
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        probe.subscribe(TOPIC)
        yield probe


def test_the_deployed_broker_limits_messages_to_the_contracts_maximum() -> None:
    directives = DEPLOYED_CONF.read_text().splitlines()

    assert f"message_size_limit {MAX_PAYLOAD_BYTES}" in directives


def test_an_oversized_message_is_dropped_and_the_next_one_is_delivered(
    mosquitto: MosquittoServer, subscriber: MqttProbe, attack: AttackLog
) -> None:
    attack.tried(
        "15.2 broker message size",
        f"published a {MAX_PAYLOAD_BYTES + 1}-byte message, then a normal one, on one connection",
    )
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as sender:
        sender.publish(TOPIC, b"x" * (MAX_PAYLOAD_BYTES + 1))
        sender.publish(TOPIC, b'{"normal": true}')

    first = subscriber.receive()
    assert first.payload == b'{"normal": true}'
    with pytest.raises(MqttProbeError):
        subscriber.receive(timeout=0.5)
    attack.held("the broker dropped the oversized message; the normal one after it arrived")


def test_a_message_of_exactly_the_contracts_maximum_is_delivered(
    mosquitto: MosquittoServer, subscriber: MqttProbe
) -> None:
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as sender:
        sender.publish(TOPIC, b"y" * MAX_PAYLOAD_BYTES)

    assert len(subscriber.receive().payload) == MAX_PAYLOAD_BYTES
