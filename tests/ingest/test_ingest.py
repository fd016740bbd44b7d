"""Ingest reads the gateways' messages from a real Mosquitto and books them, once each."""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Callable, Iterator

import pytest

from contract import BadgeDecision, MachineState, TopicKind, encode_payload
from harness.influxdb import InfluxDatabase
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.ingest import Ingest, MqttProtocol
from services.ledger import SessionBook
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
from tests.ingest.running import ingest_settings

WAIT_S = 10.0
_ids = itertools.count(1)
IngestFactory = Callable[..., Ingest]


@pytest.fixture
def start_ingest(mosquitto: MosquittoServer, ledger_url: str) -> Iterator[IngestFactory]:
    """Start Ingest processes on the test broker and ledger; each is stopped after the test."""
    started: list[Ingest] = []
    client_prefix = f"ingest-{uuid.uuid4().hex[:8]}"

    def start(
        *, influx: InfluxDatabase | None = None, client_id: str | None = None, **options: object
    ) -> Ingest:
        settings = ingest_settings(
            mosquitto,
            ledger_url,
            influx=influx,
            client_id=client_id or f"{client_prefix}-{next(_ids)}",
            **options,
        )
        ingest = Ingest(settings)
        started.append(ingest)
        ingest.start()
        ingest.wait_connected(WAIT_S)
        return ingest

    try:
        yield start
    finally:
        for ingest in started:
            ingest.stop()


@pytest.fixture
def gateway(mosquitto: MosquittoServer) -> Iterator[MqttProbe]:
    """A client publishing as a gateway would."""
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        yield probe


def read_ledger(ingest: Ingest) -> SessionBook:
    """The ledger the running ingest books into."""
    return ingest.ledger


def test_a_session_published_twice_is_booked_once(
    start_ingest: IngestFactory, gateway: MqttProbe
) -> None:
    ingest = start_ingest()
    record = session_record()

    gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))
    gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))

    assert ingest.wait_for_count("sessions_duplicate", 1, WAIT_S)
    [booked] = read_ledger(ingest).sessions()
    assert (booked.id, booked.deliveries) == (record.id, 2)
    assert ingest.counters["sessions_booked"] == 1


def test_telemetry_ends_up_in_influxdb(
    start_ingest: IngestFactory, gateway: MqttProbe, influx_db: InfluxDatabase
) -> None:
    ingest = start_ingest(influx=influx_db)

    for seq in range(5):
        gateway.publish(topic(TopicKind.TELEMETRY), encode_payload(telemetry(seq, amps=4.0)))
    assert ingest.wait_for_count("telemetry", 5, WAIT_S)

    [series] = influx_db.query(
        f"SELECT amps, volts, watts, wh, state, seq FROM telemetry "
        f"WHERE site = '{SITE}' AND machine = '{MACHINE}'"
    )
    rows = series.rows()
    assert [row["seq"] for row in rows] == [0, 1, 2, 3, 4]
    assert [row["time"] for row in rows] == [T0 + seq * 1000 for seq in range(5)]
    assert rows[2] == {
        "time": T0 + 2000,
        "amps": 4.0,
        "volts": 230.0,
        "watts": 920.0,
        "wh": 0.6,
        "state": "running",
        "seq": 2,
    }


def test_telemetry_tags_are_only_site_and_machine(
    start_ingest: IngestFactory, gateway: MqttProbe, influx_db: InfluxDatabase
) -> None:
    ingest = start_ingest(influx=influx_db)
    gateway.publish(topic(TopicKind.TELEMETRY), encode_payload(telemetry(0)))
    assert ingest.wait_for_count("telemetry", 1, WAIT_S)

    [series] = influx_db.query("SHOW TAG KEYS FROM telemetry")

    assert sorted(str(row["tagKey"]) for row in series.rows()) == ["machine", "site"]


def test_garbage_bytes_are_dead_lettered_and_the_next_session_is_booked(
    start_ingest: IngestFactory, gateway: MqttProbe, caplog: pytest.LogCaptureFixture
) -> None:
    ingest = start_ingest()
    garbage = b"\x00\xff\xfenot json at all"
    record = session_record()

    with caplog.at_level(logging.WARNING, logger="services.ingest"):
        gateway.publish(topic(TopicKind.SESSIONS), garbage)
        gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))
        assert ingest.wait_for_count("sessions_booked", 1, WAIT_S)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(topic(TopicKind.SESSIONS) in w and "(root)" in w for w in warnings)
    assert ingest.counters["rejected"] == 1
    assert ingest.counters["rejected.(root)"] == 1
    [letter] = read_ledger(ingest).dead_letters()
    assert (letter.raw, letter.field) == (garbage, "(root)")
    assert letter.topic == topic(TopicKind.SESSIONS)
    assert [s.id for s in read_ledger(ingest).sessions()] == [record.id]


def test_negative_amps_are_rejected_naming_the_field_and_the_next_sample_is_kept(
    start_ingest: IngestFactory,
    gateway: MqttProbe,
    influx_db: InfluxDatabase,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ingest = start_ingest(influx=influx_db)
    bad = json.loads(encode_payload(telemetry(1)))
    bad["amps"] = -3.2
    raw = json.dumps(bad).encode()

    with caplog.at_level(logging.WARNING, logger="services.ingest"):
        gateway.publish(topic(TopicKind.TELEMETRY), raw)
        gateway.publish(topic(TopicKind.TELEMETRY), encode_payload(telemetry(2)))
        assert ingest.wait_for_count("telemetry", 1, WAIT_S)

    assert any(
        r.levelno == logging.WARNING and "field amps" in r.getMessage() for r in caplog.records
    )
    assert ingest.counters["rejected.amps"] == 1
    [letter] = read_ledger(ingest).dead_letters()
    assert (letter.raw, letter.field) == (raw, "amps")
    assert "amps: must be 0 or more" in letter.error
    [series] = influx_db.query("SELECT seq FROM telemetry")
    assert [row["seq"] for row in series.rows()] == [2]


def test_a_message_on_an_unknown_topic_is_dead_lettered_naming_the_level(
    start_ingest: IngestFactory, gateway: MqttProbe
) -> None:
    ingest = start_ingest()
    wrong = f"officina/v1/{SITE}/machines/Lathe_1/sessions"

    gateway.publish(wrong, encode_payload(session_record()))

    assert ingest.wait_for_count("rejected", 1, WAIT_S)
    assert ingest.counters["rejected.machine"] == 1
    [letter] = read_ledger(ingest).dead_letters()
    assert letter.topic == wrong


def test_retained_access_lists_and_commands_are_ignored_not_rejected(
    start_ingest: IngestFactory, gateway: MqttProbe
) -> None:
    acl = b'{"v":1,"id":"acl-1","ts":1,"version":3,"entries":[]}'
    gateway.publish(topic(TopicKind.ACL), acl, retain=True)
    try:
        ingest = start_ingest()
        gateway.publish(topic(TopicKind.COMMANDS), b"whatever the api sends")
        gateway.publish(topic(TopicKind.SESSIONS), encode_payload(session_record()))

        assert ingest.wait_for_count("sessions_booked", 1, WAIT_S)
        assert ingest.counters["ignored"] == 2
        assert "rejected" not in ingest.counters
        assert read_ledger(ingest).dead_letters() == []
    finally:
        gateway.publish(topic(TopicKind.ACL), b"", retain=True)  # an empty retained one clears it


def test_a_state_change_updates_the_machine_and_influxdb(
    start_ingest: IngestFactory, gateway: MqttProbe, influx_db: InfluxDatabase
) -> None:
    ingest = start_ingest(influx=influx_db)
    session = str(uuid.uuid4())

    gateway.publish(
        topic(TopicKind.STATE),
        encode_payload(state_change(MachineState.RUNNING, since=T0 + 5000, session=session)),
    )
    gateway.publish(
        topic(TopicKind.STATE), encode_payload(state_change(MachineState.UNLOCKED, since=T0))
    )
    assert ingest.wait_for_count("states", 2, WAIT_S)

    stored = read_ledger(ingest).machine_state(SITE, MACHINE)
    assert stored is not None
    assert (stored.state, stored.session) == ("running", session)
    assert ingest.counters["states_stale"] == 1
    [series] = influx_db.query("SELECT state, session FROM machine_state")
    assert series.rows() == [
        {"time": T0, "state": "unlocked", "session": None},
        {"time": T0 + 5000, "state": "running", "session": session},
    ]


def test_a_badge_is_booked_with_its_decision(
    start_ingest: IngestFactory, gateway: MqttProbe
) -> None:
    ingest = start_ingest()
    denied = badge(BadgeDecision.DENIED)

    gateway.publish(topic(TopicKind.BADGES), encode_payload(denied))

    assert ingest.wait_for_count("badges_booked", 1, WAIT_S)
    [event] = read_ledger(ingest).badges()
    assert (event.id, event.decision, event.machine) == (denied.id, "denied", MACHINE)


def test_sessions_published_while_ingest_is_down_are_booked_when_it_returns(
    start_ingest: IngestFactory, gateway: MqttProbe
) -> None:
    client_id = f"ingest-restart-{uuid.uuid4().hex[:8]}"
    first = start_ingest(client_id=client_id)
    first.stop()
    missed = [session_record(start=T0 + i) for i in range(3)]
    for record in missed:
        gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))

    again = start_ingest(client_id=client_id)

    assert again.wait_for_count("sessions_booked", 3, WAIT_S)
    assert [s.id for s in read_ledger(again).sessions()] == [r.id for r in missed]


def test_ingest_speaking_mqtt_3_1_1_books_sessions_too(
    start_ingest: IngestFactory, gateway: MqttProbe
) -> None:
    ingest = start_ingest(protocol=MqttProtocol.V311)
    record = session_record()

    gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))

    assert ingest.wait_for_count("sessions_booked", 1, WAIT_S)
    assert [s.id for s in read_ledger(ingest).sessions()] == [record.id]


def test_ingests_sharing_a_group_book_each_session_once(
    start_ingest: IngestFactory, gateway: MqttProbe
) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    one = start_ingest(shared_group=group)
    two = start_ingest(shared_group=group)
    records = [session_record(start=T0 + i) for i in range(10)]

    for record in records:
        gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))

    assert _total_reaches(one, two, "sessions_booked", 10)
    booked = one.counters.get("sessions_booked", 0) + two.counters.get("sessions_booked", 0)
    assert booked == 10
    assert "sessions_duplicate" not in {**one.counters, **two.counters}
    assert len(read_ledger(one).sessions()) == 10


def _total_reaches(one: Ingest, two: Ingest, name: str, total: int) -> bool:
    """Whether two ingests together count `total` before the wait runs out."""
    for _ in range(int(WAIT_S / 0.1)):
        if one.counters.get(name, 0) + two.counters.get(name, 0) >= total:
            return True
        one.wait_for_count(name, one.counters.get(name, 0) + 1, 0.1)
    return False
