"""The harness's Mosquitto brokers: restarts, persistence, users and ACLs on a real broker."""

from __future__ import annotations

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from harness import (
    MosquittoFactory,
    MosquittoServer,
    MqttProbe,
    MqttProbeError,
    port_accepts,
)

GATEWAY_ACL = """\
user gw-1
topic write officina/v1/site-a/machines/lathe-1/#

user ingest
topic read officina/v1/#
"""
USERS = {"gw-1": "gw-secret", "ingest": "ingest-secret"}


def client(
    broker: MosquittoServer, user: str | None = None, password: str | None = None
) -> MqttProbe:
    """A client of the broker, as the given user."""
    return MqttProbe(host=broker.host, port=broker.port, username=user, password=password)


def test_shared_broker_delivers_to_a_subscriber(mosquitto: MosquittoServer) -> None:
    with client(mosquitto) as publisher, client(mosquitto) as subscriber:
        subscriber.subscribe("harness/echo")
        publisher.publish("harness/echo", b"hello")
        received = subscriber.receive()
    assert (received.topic, received.payload) == ("harness/echo", b"hello")


def test_mqtt5_shared_subscription_receives_on_the_shared_broker(
    mosquitto: MosquittoServer,
) -> None:
    ingest = MqttProbe(
        host=mosquitto.host, port=mosquitto.port, protocol=MQTTProtocolVersion.MQTTv5
    )
    with ingest, client(mosquitto) as gateway:
        ingest.subscribe("$share/ingest/harness/shared/#")
        gateway.publish("harness/shared/lathe-1", b"6.25")
        received = ingest.receive()
    assert (received.topic, received.payload) == ("harness/shared/lathe-1", b"6.25")


def test_retained_message_survives_broker_restart(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory(persistence=True)
    port = broker.port
    with client(broker) as gateway:
        gateway.publish("officina/v1/site-a/machines/lathe-1/state", b"running", retain=True)

    broker.stop()
    assert not port_accepts(broker.host, port)
    broker.start()

    assert broker.port == port
    with client(broker) as dashboard:
        dashboard.subscribe("officina/v1/site-a/machines/+/state")
        received = dashboard.receive()
    assert received.payload == b"running"
    assert received.retain


def test_killed_broker_starts_again_on_the_same_port(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory()
    broker.kill()
    assert not broker.running
    broker.start()
    with client(broker) as probe:
        probe.subscribe("harness/after-kill")
        probe.publish("harness/after-kill", b"back")
        assert probe.receive().payload == b"back"


def test_gateway_with_its_password_connects(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory(users=USERS, acl=GATEWAY_ACL)
    with client(broker, "gw-1", "gw-secret") as gateway:
        gateway.publish("officina/v1/site-a/machines/lathe-1/telemetry", b"{}")


@pytest.mark.parametrize(
    ("user", "password"),
    [("gw-1", "wrong"), ("stranger", "gw-secret"), (None, None)],
    ids=["wrong-password", "unknown-user", "anonymous"],
)
def test_broker_with_users_refuses_bad_credentials(
    mosquitto_factory: MosquittoFactory, user: str | None, password: str | None
) -> None:
    broker = mosquitto_factory(users=USERS, acl=GATEWAY_ACL)
    with pytest.raises(MqttProbeError, match="refused"):
        client(broker, user, password).connect()


def test_acl_drops_what_a_gateway_publishes_outside_its_machines(
    mosquitto_factory: MosquittoFactory,
) -> None:
    broker = mosquitto_factory(users=USERS, acl=GATEWAY_ACL)
    with (
        client(broker, "ingest", "ingest-secret") as ingest,
        client(broker, "gw-1", "gw-secret") as gateway,
    ):
        ingest.subscribe("officina/v1/#")
        gateway.publish("officina/v1/site-a/machines/laser-2/telemetry", b"not yours")
        gateway.publish("officina/v1/site-a/machines/lathe-1/telemetry", b"yours")
        # One publisher's messages arrive in order, so had the first passed it would come first.
        received = ingest.receive()
    assert (received.topic, received.payload) == (
        "officina/v1/site-a/machines/lathe-1/telemetry",
        b"yours",
    )


def test_stopped_broker_refuses_connections(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory()
    broker.stop()
    with pytest.raises(MqttProbeError, match="cannot reach"):
        client(broker).connect()
