"""Every contract message kind survives a trip through a real Mosquitto broker unchanged."""

from __future__ import annotations

import secrets
import uuid

import pytest

from contract import (
    AccessList,
    AclEntry,
    Badge,
    BadgeDecision,
    BookedSlot,
    Command,
    CommandAction,
    ContractError,
    EndReason,
    GatewayBookings,
    GatewayPolicy,
    GatewayStatus,
    GatewayStatusValue,
    GatewayTopic,
    MachineBookings,
    MachinePolicy,
    MachineState,
    MachineTopic,
    Message,
    OpenWindow,
    SessionRecord,
    StateChange,
    Telemetry,
    Topic,
    TopicKind,
    card_hash,
    decode_message,
    encode_payload,
)
from contract.payloads import Envelope
from harness import MosquittoServer, MqttProbe

SITE_KEY = b"test-site-secret"
TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
CARD = card_hash("04A1B2C3D4", SITE_KEY)
SESSION_ID = str(uuid.UUID(int=0x1234_5678_9ABC_4DEF_8123_4567_89AB_CDEF))


def example_messages(site: str) -> dict[TopicKind, tuple[Topic, Envelope]]:
    """One valid message of each kind, on topics of the given site."""

    def machine(kind: TopicKind) -> MachineTopic:
        return MachineTopic(site, "lathe-1", kind)

    return {
        TopicKind.TELEMETRY: (
            machine(TopicKind.TELEMETRY),
            Telemetry(
                id="gw-1:lathe-1:42",
                ts=TS,
                seq=42,
                amps=6.25,
                volts=230.0,
                watts=1437.5,
                wh=12.5,
                state=MachineState.RUNNING,
            ),
        ),
        TopicKind.STATE: (
            machine(TopicKind.STATE),
            StateChange(
                id="gw-1:lathe-1:state:7",
                ts=TS,
                state=MachineState.UNLOCKED,
                member="anna-rossi",
                session=SESSION_ID,
                since=TS - 1_000,
            ),
        ),
        TopicKind.SESSIONS: (
            machine(TopicKind.SESSIONS),
            SessionRecord(
                id=SESSION_ID,
                ts=TS,
                machine="lathe-1",
                member="anna-rossi",
                card=CARD,
                started=TS - 3_600_000,
                ended=TS,
                unlocked_s=3600.0,
                running_s=2700.5,
                idle_s=899.5,
                energy_wh=1250.0,
                end_reason=EndReason.BADGE_OUT,
                clock_ok=True,
            ),
        ),
        TopicKind.BADGES: (
            machine(TopicKind.BADGES),
            Badge(
                id="gw-1:lathe-1:badge:3",
                ts=TS,
                card=CARD,
                decision=BadgeDecision.DENIED,
                reason="not qualified",
            ),
        ),
        TopicKind.ACL: (
            machine(TopicKind.ACL),
            AccessList(
                id="acl-lathe-1-v9",
                ts=TS,
                version=9,
                entries=(
                    AclEntry(card=CARD, member="anna-rossi", until=TS + 86_400_000),
                    AclEntry(card=card_hash("0A0B0C0D", SITE_KEY), member="marco-bianchi"),
                ),
            ),
        ),
        TopicKind.COMMANDS: (
            machine(TopicKind.COMMANDS),
            Command(id="cmd-1", ts=TS, action=CommandAction.LOCK, by="coordinator-giulia"),
        ),
        TopicKind.STATUS: (
            GatewayTopic(site, "gw-1"),
            GatewayStatus(
                id="gw-1:status:1",
                ts=TS,
                status=GatewayStatusValue.ONLINE,
                version="0.1.0",
                machines=("lathe-1", "laser-2"),
                spool=42,
                spool_oldest_s=17.5,
            ),
        ),
        TopicKind.BOOKINGS: (
            GatewayTopic(site, "gw-1", TopicKind.BOOKINGS),
            GatewayBookings(
                id="bookings-gw-1-9",
                ts=TS,
                version=9,
                machines=(
                    MachineBookings(
                        machine="laser-2",
                        until=TS + 3 * 86_400_000,
                        bookings=(
                            BookedSlot(
                                id=41, member="giulia", start=TS + 60_000, end=TS + 3_660_000
                            ),
                        ),
                        open=(OpenWindow(start=TS, end=TS + 36_000_000),),
                    ),
                ),
            ),
        ),
        TopicKind.CONFIG: (
            GatewayTopic(site, "gw-1", TopicKind.CONFIG),
            GatewayPolicy(
                id="config-gw-1-3",
                ts=TS,
                version=3,
                machines=(
                    MachinePolicy(machine="lathe-1", idle_amps=0.4, run_amps=3.0),
                    MachinePolicy(
                        machine="laser-2",
                        idle_amps=0.2,
                        run_amps=1.5,
                        hysteresis_amps=0.05,
                        min_dwell_s=1.0,
                        idle_timeout_s=600.0,
                        max_duration_s=4 * 3600.0,
                        warn_before_s=120.0,
                    ),
                ),
            ),
        ),
    }


def fresh_site() -> str:
    """A site id no other test uses, so retained messages on the shared broker never mix."""
    return f"site-{secrets.token_hex(4)}"


def probe(broker: MosquittoServer) -> MqttProbe:
    """A client of the broker under test."""
    return MqttProbe(host=broker.host, port=broker.port)


@pytest.mark.parametrize("kind", list(TopicKind), ids=[k.value for k in TopicKind])
def test_message_kind_round_trips_through_mosquitto(
    mosquitto: MosquittoServer, kind: TopicKind
) -> None:
    topic, payload = example_messages(fresh_site())[kind]
    with probe(mosquitto) as publisher, probe(mosquitto) as subscriber:
        if topic.retained:
            # A retained message must reach a subscriber that arrives after it was sent.
            publisher.publish(str(topic), encode_payload(payload), qos=1, retain=True)
            subscriber.subscribe(str(topic), qos=1)
        else:
            subscriber.subscribe(str(topic), qos=1)
            publisher.publish(str(topic), encode_payload(payload), qos=1, retain=False)
        received = subscriber.receive()
        if topic.retained:
            # Clear it: other tests subscribe to every site on this shared broker.
            publisher.publish(str(topic), b"", qos=1, retain=True)

    assert received.topic == str(topic)
    assert received.qos == 1
    assert received.retain is topic.retained
    assert decode_message(received.topic, received.payload) == Message(topic, payload)


def test_garbage_on_the_wire_is_rejected_and_the_next_message_still_reads(
    mosquitto: MosquittoServer,
) -> None:
    topic, payload = example_messages(fresh_site())[TopicKind.TELEMETRY]
    broken = b'{"v":1,"id":"gw-1:lathe-1:41","ts":1767225600000,"seq":41,"amps":-3,"state":"idle"}'
    with probe(mosquitto) as publisher, probe(mosquitto) as subscriber:
        subscriber.subscribe(str(topic))
        publisher.publish(str(topic), broken)
        publisher.publish(str(topic), encode_payload(payload))
        first, second = subscriber.receive(), subscriber.receive()

    with pytest.raises(ContractError) as rejected:
        decode_message(first.topic, first.payload)
    assert rejected.value.field == "amps"
    assert decode_message(second.topic, second.payload).payload == payload


def test_session_on_another_machines_topic_is_rejected(mosquitto: MosquittoServer) -> None:
    site = fresh_site()
    _, session = example_messages(site)[TopicKind.SESSIONS]
    wrong_topic = MachineTopic(site, "laser-2", TopicKind.SESSIONS)
    with probe(mosquitto) as publisher, probe(mosquitto) as subscriber:
        subscriber.subscribe(str(wrong_topic))
        publisher.publish(str(wrong_topic), encode_payload(session))
        received = subscriber.receive()

    with pytest.raises(ContractError) as rejected:
        decode_message(received.topic, received.payload)
    assert rejected.value.field == "machine"
