"""At-least-once delivery, booked exactly once: duplicates, disorder, unacknowledged redelivery."""

from __future__ import annotations

import random
import uuid

from contract import BadgeDecision, MachineState, TopicKind, encode_payload
from harness.influxdb import InfluxDatabase
from harness.mosquitto import MosquittoServer
from harness.plugin import InfluxFactory
from services.ingest import Ingest, RetryPolicy
from tests.ingest.examples import (
    MACHINE,
    SITE,
    T0,
    badge,
    session_record,
    state_change,
    telemetry,
    topic,
)
from tests.ingest.load import Publisher, influx_count
from tests.ingest.running import ingest_settings
from tests.waiting import eventually

WAIT_S = 20.0


def test_every_message_delivered_twice_is_booked_once(
    mosquitto: MosquittoServer, influx_db: InfluxDatabase, ledger_url: str
) -> None:
    sessions = [session_record(start=T0 + i * 60_000) for i in range(5)]
    badges = [badge(BadgeDecision.GRANTED, ts=T0 + i) for i in range(3)]
    samples = [telemetry(seq) for seq in range(40)]
    once = [(topic(TopicKind.SESSIONS), encode_payload(s)) for s in sessions]
    once += [(topic(TopicKind.BADGES), encode_payload(b)) for b in badges]
    once += [(topic(TopicKind.TELEMETRY), encode_payload(t)) for t in samples]

    with Ingest(ingest_settings(mosquitto, ledger_url, influx=influx_db)) as ingest:
        ingest.wait_connected(WAIT_S)
        with Publisher(mosquitto) as gateway:
            gateway.publish(once + once)
        eventually(lambda: ingest.counters.get("sessions_duplicate", 0) == 5, what="duplicates")
        eventually(lambda: ingest.counters.get("telemetry", 0) == 80, what="every sample")
        booked = ingest.ledger.sessions()
        events = ingest.ledger.badges()

    assert sorted(s.id for s in booked) == sorted(s.id for s in sessions)
    assert {s.deliveries for s in booked} == {2}
    assert sorted(e.id for e in events) == sorted(b.id for b in badges)
    assert influx_count(influx_db) == 40


def test_sessions_and_states_arriving_out_of_order_read_back_in_time_order(
    mosquitto: MosquittoServer, influx_db: InfluxDatabase, ledger_url: str
) -> None:
    sessions = [session_record(start=T0 + i * 3_600_000) for i in range(12)]
    shuffled = random.Random(7).sample(sessions, len(sessions))
    session = str(uuid.uuid4())
    states = [
        state_change(MachineState.RUNNING, since=T0 + 2000, session=session),
        state_change(MachineState.LOCKED, since=T0 + 9000),
        state_change(MachineState.UNLOCKED, since=T0 + 1000, session=session),
    ]
    messages = [(topic(TopicKind.SESSIONS), encode_payload(s)) for s in shuffled]
    messages += [(topic(TopicKind.STATE), encode_payload(s)) for s in states]

    with Ingest(ingest_settings(mosquitto, ledger_url, influx=influx_db)) as ingest:
        ingest.wait_connected(WAIT_S)
        with Publisher(mosquitto) as gateway:
            gateway.publish(messages)
        eventually(lambda: ingest.counters.get("sessions_booked", 0) == 12, what="12 sessions")
        eventually(lambda: ingest.counters.get("states", 0) == 3, what="3 states")
        booked = ingest.ledger.sessions()
        latest = ingest.ledger.machine_state(SITE, MACHINE)

    assert [s.id for s in booked] == [s.id for s in sessions]
    assert latest is not None
    assert latest.state == "locked"
    [series] = influx_db.query("SELECT state FROM machine_state")
    assert [row["state"] for row in series.rows()] == ["unlocked", "running", "locked"]


def test_messages_left_unacknowledged_by_a_stopped_ingest_are_booked_by_the_next(
    mosquitto: MosquittoServer, influxdb_factory: InfluxFactory, sqlite_url: str
) -> None:
    influx = influxdb_factory()
    client_id = f"ingest-{uuid.uuid4().hex[:6]}"
    records = [session_record(start=T0 + i) for i in range(4)]
    messages = [(topic(TopicKind.SESSIONS), encode_payload(r)) for r in records]
    messages += [(topic(TopicKind.TELEMETRY), encode_payload(telemetry(seq))) for seq in range(30)]
    # InfluxDB away: the first ingest books the sessions but may acknowledge nothing.
    settings = ingest_settings(
        mosquitto,
        sqlite_url,
        influx=influx,
        client_id=client_id,
        retry=RetryPolicy(first_s=0.1, max_s=0.2),
        stop_timeout_s=0.5,
    )
    influx.stop()
    with Ingest(settings) as first:
        first.wait_connected(WAIT_S)
        with Publisher(mosquitto) as gateway:
            gateway.publish(messages)
        eventually(lambda: first.backlog == len(messages), what="all received, none acknowledged")
        eventually(lambda: first.counters.get("failed.influxdb", 0) > 0, what="a failed write")
    influx.start()

    with Ingest(settings) as second:
        second.wait_connected(WAIT_S)
        eventually(lambda: second.counters.get("telemetry", 0) == 30, what="redelivered samples")
        booked = second.ledger.sessions()

    assert sorted(s.id for s in booked) == sorted(r.id for r in records)
    assert {s.deliveries for s in booked} == {2}  # delivered twice, booked once
    assert influx_count(influx) == 30
