"""Ingest as separate processes: killed with SIGKILL under load, and two sharing the load.

The processes are `python -m officina ingest run`, the command operators run, reading a real
Mosquitto and writing a real InfluxDB and a ledger (SQLite, and PostgreSQL for two started at
once on a fresh one); the tests count what arrives.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.influxdb import InfluxDatabase
from harness.ingest import IngestProcess
from harness.mosquitto import MosquittoServer
from services.ledger import SessionBook
from services.ledger.db import make_engine, migration_lock
from tests.ingest.load import Load, Publisher, floor_load, influx_count
from tests.ingest.running import PROCESS_FLUSH_INTERVAL_S
from tests.waiting import eventually

WAIT_S = 30.0
# What a process logs when it finds another one migrating the ledger.
WAITING = "another process is migrating the ledger"


@pytest.fixture
def processes() -> Iterator[list[IngestProcess]]:
    """Ingest processes started by a test; each is stopped afterwards."""
    started: list[IngestProcess] = []
    try:
        yield started
    finally:
        for process in started:
            process.stop()


def booked_sessions(ledger_url: str) -> list[str]:
    """The ids of the sessions in the ledger (a row per booking)."""
    ledger = SessionBook.open(ledger_url)
    try:
        return [row.id for row in ledger.sessions()]
    finally:
        ledger.close()


def assert_booked_exactly(ledger_url: str, influx: InfluxDatabase, load: Load) -> None:
    """Every session once and every sample once."""
    sessions = booked_sessions(ledger_url)
    assert len(sessions) == len(load.sessions)
    assert set(sessions) == load.sessions
    assert influx_count(influx) == load.telemetry


def test_ingest_killed_with_sigkill_under_load_loses_and_doubles_nothing(
    mosquitto: MosquittoServer,
    influx_db: InfluxDatabase,
    tmp_path: Path,
    processes: list[IngestProcess],
) -> None:
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    load = floor_load(machines=20, samples=150, session_every=25)
    client_id = f"ingest-kill-{uuid.uuid4().hex[:6]}"

    def start() -> IngestProcess:
        process = IngestProcess(
            broker=mosquitto,
            ledger_url=ledger_url,
            influx=influx_db,
            client_id=client_id,
            log_path=tmp_path / "ingest.log",
            flush_interval_s=PROCESS_FLUSH_INTERVAL_S,
        )
        processes.append(process)
        return process

    first = start()
    eventually(lambda: first.metric("officina_ingest_backlog_messages") is not None, timeout=WAIT_S)
    # The floor's first half streams in and ingest is killed as soon as its first batch is
    # written, whatever it still holds; the second half arrives while no ingest runs, so work is
    # always left for the restarted one however fast the first was.
    before, after = load.split(0.5)
    with Publisher(mosquitto) as gateway:
        publishing = threading.Thread(target=gateway.publish, args=(before,))
        publishing.start()
        eventually(lambda: influx_count(influx_db) > 0, timeout=WAIT_S, what="the first batch")
        first.kill()
        publishing.join()
        gateway.publish(after)
    killed_at = influx_count(influx_db)
    assert killed_at < load.telemetry  # killed mid-stream, with work left

    again = start()

    eventually(lambda: influx_count(influx_db) == load.telemetry, timeout=WAIT_S, what="all")
    eventually(lambda: len(booked_sessions(ledger_url)) == len(load.sessions), timeout=WAIT_S)
    assert again.stop() == 0, again.log_tail()
    assert_booked_exactly(ledger_url, influx_db, load)


def test_two_ingest_processes_started_together_on_a_fresh_ledger_share_the_load_and_book_once(
    mosquitto: MosquittoServer,
    influx_db: InfluxDatabase,
    ledger_url: str,
    tmp_path: Path,
    processes: list[IngestProcess],
) -> None:
    # An odd number of machines: with 20, the rows of sessions alternate with telemetry and
    # Mosquitto's round robin would hand every session to the same process.
    load = floor_load(machines=21, samples=100, session_every=10)
    group = f"g{uuid.uuid4().hex[:6]}"
    engine = make_engine(ledger_url)
    try:
        # Held while both start, so that both reach the fresh ledger's migration at once;
        # released, they race for it: one migrates, the other waits and finds the schema current.
        with migration_lock(engine):
            for number in (1, 2):
                processes.append(
                    IngestProcess(
                        broker=mosquitto,
                        ledger_url=ledger_url,
                        influx=influx_db,
                        client_id=f"ingest-{group}-{number}",
                        log_path=tmp_path / f"ingest-{number}.log",
                        flush_interval_s=PROCESS_FLUSH_INTERVAL_S,
                        shared_group=group,
                    )
                )
            eventually(
                lambda: all(WAITING in process.log_text() for process in processes),
                timeout=WAIT_S,
                what="both processes waiting to migrate",
            )
    finally:
        engine.dispose()
    for process in processes:
        eventually(
            lambda p=process: p.metric("officina_ingest_backlog_messages") == 0,  # type: ignore[misc]
            timeout=WAIT_S,
            what="both processes up",
        )

    with Publisher(mosquitto) as gateway:
        gateway.publish(load.messages)

    eventually(lambda: influx_count(influx_db) == load.telemetry, timeout=WAIT_S, what="all")
    eventually(lambda: len(booked_sessions(ledger_url)) == len(load.sessions), timeout=WAIT_S)
    written = 'officina_ingest_messages_written_total{kind="session"}'

    def per_process() -> list[float]:
        return [process.metric(written) or 0 for process in processes]

    def received() -> list[float]:
        return [
            process.metric("officina_ingest_messages_received_total") or 0 for process in processes
        ]

    # A counter moves just after its commit: give the scrape a moment to catch up.
    eventually(lambda: sum(per_process()) == len(load.sessions), what="sessions counted")
    eventually(lambda: sum(received()) == len(load.messages), what="messages counted")
    assert all(count > 0 for count in per_process())  # both booked a share of the sessions
    assert sum(per_process()) == len(load.sessions)  # and each session was booked by one of them
    assert sum(received()) == len(load.messages)
    assert_booked_exactly(ledger_url, influx_db, load)
    assert [process.stop() for process in processes] == [0, 0]
