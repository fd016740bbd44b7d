"""`officina ingest dead-letters --replay` books what passes now and keeps what still fails."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from contract import TopicKind, encode_payload
from harness.influxdb import InfluxDatabase
from services.ingest.cli import app
from services.ledger import SessionBook
from tests.ingest.examples import session_record, telemetry, topic
from tests.ingest.load import influx_count

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def test_replay_books_fixed_messages_counts_them_and_keeps_the_rest(
    sqlite_url: str, influx_db: InfluxDatabase
) -> None:
    record = session_record()
    sample = telemetry(3)
    ledger = SessionBook.open(sqlite_url)
    # Rejected once (the database or InfluxDB refused them), valid now: replay books them.
    ledger.dead_letter(topic(TopicKind.SESSIONS), encode_payload(record), "the ledger refused it")
    ledger.dead_letter(topic(TopicKind.TELEMETRY), encode_payload(sample), "InfluxDB refused it")
    garbage = json.dumps({"v": 1, "id": "x", "ts": 1, "seq": 1, "amps": -4}).encode()
    ledger.dead_letter(topic(TopicKind.TELEMETRY), garbage, "amps negative", field="amps")
    ledger.close()
    replay = ["dead-letters", "--ledger", sqlite_url, "--replay"]

    result = runner.invoke(
        app, [*replay, "--influx-url", influx_db.url, "--influx-db", influx_db.database], env=WIDE
    )
    listed = runner.invoke(app, ["dead-letters", "--ledger", sqlite_url], env=WIDE)

    assert result.exit_code == 0, result.output
    assert "Replayed 2; still rejected 1; waiting for InfluxDB 0." in result.output
    assert "amps: must be 0 or more" in result.output
    reopened = SessionBook.open(sqlite_url)
    try:
        assert [s.id for s in reopened.sessions()] == [record.id]
        assert len(reopened.dead_letters()) == 1
        assert len(reopened.dead_letters(include_replayed=True)) == 3
    finally:
        reopened.close()
    assert influx_count(influx_db) == 1
    assert "amps" in listed.output
    assert "Dead letters (1 newest)" in listed.output


def test_replay_without_influxdb_leaves_telemetry_for_later(sqlite_url: str) -> None:
    ledger = SessionBook.open(sqlite_url)
    ledger.dead_letter(topic(TopicKind.TELEMETRY), encode_payload(telemetry(1)), "InfluxDB refused")
    ledger.close()

    result = runner.invoke(app, ["dead-letters", "--ledger", sqlite_url, "--replay"], env=WIDE)

    assert result.exit_code == 0, result.output
    assert "Replayed 0; still rejected 0; waiting for InfluxDB 1." in result.output
    assert "--influx-url" in result.output


def test_a_letter_kept_only_in_part_is_listed_with_its_size_and_never_replayed(
    sqlite_url: str,
) -> None:
    huge = encode_payload(session_record())[:-1] + b',"padding":"' + b"x" * 20_000 + b'"}'
    ledger = SessionBook.open(sqlite_url)
    ledger.dead_letter(topic(TopicKind.SESSIONS), huge, "too large", field="(root)")
    ledger.close()

    replayed = runner.invoke(app, ["dead-letters", "--ledger", sqlite_url, "--replay"], env=WIDE)
    listed = runner.invoke(app, ["dead-letters", "--ledger", sqlite_url], env=WIDE)

    assert replayed.exit_code == 0, replayed.output
    assert "Replayed 0; still rejected 1" in replayed.output
    assert f"only the first 4096 of its {len(huge)} bytes were kept" in replayed.output
    assert f"(4096 of {len(huge)} bytes kept)" in listed.output
