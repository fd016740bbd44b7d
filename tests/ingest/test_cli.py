"""`officina ingest …` commands: run until SIGTERM, and list dead letters."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from typer.testing import CliRunner

from contract import TopicKind, encode_payload
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.ingest.cli import app
from services.ingest.settings import MAX_SESSION_AGE_DAYS
from services.ledger import SessionBook
from tests.ingest.examples import session_record, topic

WAIT_S = 30.0  # a bound, not a timing: start-up is slow on a loaded machine
runner = CliRunner()


def test_dead_letters_lists_each_rejected_message_with_its_field(sqlite_url: str) -> None:
    ledger = SessionBook.open(sqlite_url)
    ledger.dead_letter(topic(TopicKind.TELEMETRY), b"\xffoops", "invalid payload", field="amps")
    ledger.close()

    result = runner.invoke(app, ["dead-letters", "--ledger", sqlite_url], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert topic(TopicKind.TELEMETRY) in result.output
    assert "amps" in result.output
    assert "oops" in result.output


def test_dead_letters_says_so_when_there_are_none(sqlite_url: str) -> None:
    SessionBook.open(sqlite_url).close()  # a ledger made, with nothing refused yet

    result = runner.invoke(app, ["dead-letters", "--ledger", sqlite_url])

    assert result.exit_code == 0
    assert "No dead letters." in result.output


def test_run_refuses_a_broker_url_that_is_not_mqtt(sqlite_url: str) -> None:
    arguments = ["run", "--broker", "http://127.0.0.1:9", "--ledger", sqlite_url]

    result = runner.invoke(app, arguments, env={"COLUMNS": "200"})

    assert result.exit_code == 2
    assert "--broker" in result.output


def _lines_of(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def _wait_for_line(lines: queue.Queue[str], text: str) -> bool:
    while True:
        try:
            if text in lines.get(timeout=WAIT_S):
                return True
        except queue.Empty:
            return False


def test_run_books_sessions_until_sigterm(mosquitto: MosquittoServer, tmp_path: Path) -> None:
    ledger_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    command = [
        sys.executable,
        "-c",
        "from services.ingest.cli import app; app()",
        "run",
        "--broker",
        f"mqtt://{mosquitto.host}:{mosquitto.port}",
        "--ledger",
        ledger_url,
        "--client-id",
        f"cli-{tmp_path.name}",
        # The example session is dated 2026-01-01.
        "--session-max-age-days",
        str(MAX_SESSION_AGE_DAYS),
    ]
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines_of, args=(process.stderr, lines), daemon=True).start()
    try:
        assert _wait_for_line(lines, "ingest subscribed")
        record = session_record()
        with MqttProbe(host=mosquitto.host, port=mosquitto.port) as gateway:
            gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))
        assert _wait_for_line(lines, f"booked session {record.id}")
        process.send_signal(signal.SIGTERM)
        assert _wait_for_line(lines, "'sessions_booked': 1")
        assert process.wait(WAIT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    ledger = SessionBook.open(ledger_url)
    try:
        assert [s.id for s in ledger.sessions()] == [record.id]
    finally:
        ledger.close()
