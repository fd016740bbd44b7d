"""Sessions reach InfluxDB only under their member's pseudonym, once each, whoever the member is."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from contract import TopicKind, encode_payload
from contract.secrets import DEMO_PSEUDONYM_KEY
from harness.influxdb import InfluxDatabase
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.ingest import Ingest, IngestSettings, SettingsError
from services.ingest.cli import app
from services.ledger import member_pseudonym
from services.ledger.pseudonyms import is_pseudonym
from tests.ingest.examples import MACHINE, MEMBER, SITE, T0, session_record, telemetry, topic
from tests.ingest.running import ingest_settings

WAIT_S = 10.0
KEY = "pseudonym key of the ingest tests, 32+ bytes long"


@pytest.fixture
def gateway(mosquitto: MosquittoServer) -> Iterator[MqttProbe]:
    """A client publishing as a gateway would."""
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        yield probe


def _ingest(
    mosquitto: MosquittoServer, ledger_url: str, influx: InfluxDatabase, **options: object
) -> Ingest:
    settings = ingest_settings(
        mosquitto, ledger_url, influx=influx, client_id=f"ingest-{uuid.uuid4().hex[:8]}", **options
    )
    ingest = Ingest(settings)
    ingest.start()
    ingest.wait_connected(WAIT_S)
    return ingest


def test_a_redelivered_session_overwrites_its_one_point(
    mosquitto: MosquittoServer, sqlite_url: str, influx_db: InfluxDatabase, gateway: MqttProbe
) -> None:
    record = session_record()
    ingest = _ingest(mosquitto, sqlite_url, influx_db, pseudonym_key=KEY)
    try:
        gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))
        gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))
        assert ingest.wait_for_count("sessions_duplicate", 1, WAIT_S), ingest.counters
        assert ingest.wait_for_count("influx_lines", 2, WAIT_S), ingest.counters
    finally:
        ingest.stop()

    [series] = influx_db.query('SELECT * FROM "session"')
    assert series.rows() == [
        {
            "time": T0,
            "site": SITE,
            "machine": MACHINE,
            "user": member_pseudonym(MEMBER, KEY),
            "running_s": 900.0,
            "unlocked_s": 1200.0,
            "idle_s": 240.0,
            "energy_wh": 1200.0,
        }
    ]


def test_an_unregistered_member_is_booked_and_only_their_pseudonym_reaches_influxdb(
    mosquitto: MosquittoServer, sqlite_url: str, influx_db: InfluxDatabase, gateway: MqttProbe
) -> None:
    stranger = session_record(member="nobody-registered-9")
    ingest = _ingest(mosquitto, sqlite_url, influx_db, pseudonym_key=KEY)
    try:
        gateway.publish(topic(TopicKind.SESSIONS), encode_payload(stranger))
        assert ingest.wait_for_count("sessions_booked", 1, WAIT_S), ingest.counters
        assert ingest.wait_for_count("influx_lines", 1, WAIT_S), ingest.counters
        [booked] = ingest.ledger.sessions()
    finally:
        ingest.stop()

    assert booked.member == "nobody-registered-9"
    [users] = influx_db.query('SHOW TAG VALUES FROM "session" WITH KEY = "user"')
    [user] = [str(row["value"]) for row in users.rows()]
    assert is_pseudonym(user)
    assert user == member_pseudonym("nobody-registered-9", KEY)
    assert user != member_pseudonym("nobody-registered-9", KEY + "!")
    [keys] = influx_db.query('SHOW TAG KEYS FROM "session"')
    assert sorted(str(row["tagKey"]) for row in keys.rows()) == ["machine", "site", "user"]
    [fields] = influx_db.query('SHOW FIELD KEYS FROM "session"')
    assert "nobody-registered-9" not in str(fields.rows())


def test_without_a_pseudonym_key_sessions_are_booked_but_stay_out_of_influxdb(
    mosquitto: MosquittoServer,
    sqlite_url: str,
    influx_db: InfluxDatabase,
    gateway: MqttProbe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING"):
        ingest = _ingest(mosquitto, sqlite_url, influx_db)
    try:
        gateway.publish(topic(TopicKind.SESSIONS), encode_payload(session_record()))
        gateway.publish(topic(TopicKind.TELEMETRY), encode_payload(telemetry(0)))
        assert ingest.wait_for_count("sessions_booked", 1, WAIT_S), ingest.counters
        assert ingest.wait_for_count("influx_lines", 1, WAIT_S), ingest.counters
    finally:
        ingest.stop()

    assert ingest.counters["influx_lines"] == 1  # the telemetry sample
    assert influx_db.query('SELECT * FROM "session"') == []
    assert "no pseudonym key" in caplog.text


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "must not be empty"),
        ("too short", "at least 32 characters"),
        (DEMO_PSEUDONYM_KEY, "well-known value is refused"),
        ("changethis", "placeholder from an example is refused"),
    ],
)
def test_a_weak_pseudonym_key_is_refused_outside_the_demo(key: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=f"pseudonym_key: .*{problem}"):
        IngestSettings(pseudonym_key=key)


def test_the_demo_may_use_its_own_pseudonym_key() -> None:
    settings = IngestSettings(pseudonym_key=DEMO_PSEUDONYM_KEY, demo=True)

    assert settings.pseudonym_key == DEMO_PSEUDONYM_KEY
    assert DEMO_PSEUDONYM_KEY not in repr(settings)


def test_ingest_run_names_a_weak_pseudonym_key(sqlite_url: str) -> None:
    arguments = ["run", "--ledger", sqlite_url, "--pseudonym-key", "short"]

    result = CliRunner().invoke(app, arguments, env={"COLUMNS": "200"})

    assert result.exit_code == 2
    assert "pseudonym_key: must be at least 32 characters" in result.output
