"""Ingest holds on through outages: InfluxDB or the database goes away mid-stream and returns.

Each test publishes a known shop-floor load into a real Mosquitto, takes a store away halfway,
checks that ingest stops acknowledging (it holds at most `max_unacked` messages, the broker the
rest), brings the store back, and counts: the ledger and InfluxDB hold exactly what was sent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from harness.influxdb import InfluxServer
from harness.mosquitto import MosquittoServer
from harness.plugin import InfluxFactory
from harness.postgres_private import PrivatePostgres
from services.ingest import Ingest
from services.ledger import SessionBook
from tests.ingest.load import Load, Publisher, floor_load, influx_count
from tests.ingest.running import ingest_settings
from tests.waiting import eventually

WAIT_S = 20.0
# Small enough that the broker, not ingest, holds most of the backlog during an outage.
HELD_AT_MOST = 100
BATCH = 50


def telemetry_in(messages: Sequence[tuple[str, bytes]]) -> int:
    """How many of the messages are telemetry."""
    return sum(1 for name, _ in messages if name.endswith("/telemetry"))


def assert_booked_exactly(ledger_url: str, influx: InfluxServer, load: Load) -> None:
    """Every session once, every sample once, nothing rejected."""
    ledger = SessionBook.open(ledger_url)
    try:
        sessions = ledger.sessions()
        assert len(sessions) == len(load.sessions)
        assert {s.id for s in sessions} == load.sessions
        assert ledger.dead_letters() == []
    finally:
        ledger.close()
    assert influx_count(influx) == load.telemetry


def run_through_outage(
    *,
    broker: MosquittoServer,
    ledger_url: str,
    influx: InfluxServer,
    store: str,
    take_away: object,
    bring_back: object,
) -> Load:
    """Publish half, take the store away, publish the rest, check the hold, bring it back."""
    load = floor_load(machines=10, samples=60, session_every=20)
    first, second = load.split(0.5)
    settings = ingest_settings(
        broker, ledger_url, influx=influx, max_unacked=HELD_AT_MOST, batch_size=BATCH
    )
    with Ingest(settings) as ingest, Publisher(broker) as gateway:
        ingest.wait_connected(WAIT_S)
        gateway.publish(first)
        eventually(lambda: influx_count(influx) == telemetry_in(first), what="the first half")
        eventually(lambda: ingest.backlog == 0, what="the first half acknowledged")

        take_away()  # type: ignore[operator]
        gateway.publish(second)
        eventually(lambda: ingest.counters.get(f"failed.{store}", 0) >= 2, what="failed writes")
        held = ingest.backlog
        assert 0 < held <= HELD_AT_MOST  # what ingest holds is bounded; the broker keeps the rest
        assert ingest.metrics.stores_up()[store] is False

        bring_back()  # type: ignore[operator]
        eventually(lambda: ingest.backlog == 0, timeout=WAIT_S, what="the backlog caught up")
        eventually(lambda: influx_count(influx) == load.telemetry, what="every sample")
        assert ingest.metrics.stores_up()[store] is True
    return load


def test_influxdb_stopped_and_restarted_mid_stream_loses_and_doubles_nothing(
    mosquitto: MosquittoServer, influxdb_factory: InfluxFactory, sqlite_url: str
) -> None:
    influx = influxdb_factory()

    load = run_through_outage(
        broker=mosquitto,
        ledger_url=sqlite_url,
        influx=influx,
        store="influxdb",
        take_away=influx.stop,
        bring_back=influx.start,
    )

    assert_booked_exactly(sqlite_url, influx, load)


def test_postgresql_stopped_and_restarted_mid_stream_loses_and_doubles_nothing(
    mosquitto: MosquittoServer,
    influxdb_factory: InfluxFactory,
    private_postgres: PrivatePostgres,
    private_postgres_url: str,
) -> None:
    influx = influxdb_factory()

    load = run_through_outage(
        broker=mosquitto,
        ledger_url=private_postgres_url,
        influx=influx,
        store="ledger",
        take_away=private_postgres.stop,
        bring_back=private_postgres.start,
    )

    assert_booked_exactly(private_postgres_url, influx, load)


def test_sqlite_locked_by_another_writer_mid_stream_loses_and_doubles_nothing(
    mosquitto: MosquittoServer, influxdb_factory: InfluxFactory, tmp_path: Path
) -> None:
    influx = influxdb_factory()
    path = tmp_path / "ledger.sqlite3"
    # A short lock wait, so each attempt fails fast while the other writer holds the file.
    ledger_url = f"sqlite:///{path}?timeout=0.1"
    SessionBook.open(ledger_url).close()
    blocker = sqlite3.connect(path, timeout=0, isolation_level=None)

    def lock() -> None:
        blocker.execute("BEGIN EXCLUSIVE")

    def unlock() -> None:
        blocker.execute("ROLLBACK")

    try:
        load = run_through_outage(
            broker=mosquitto,
            ledger_url=ledger_url,
            influx=influx,
            store="ledger",
            take_away=lock,
            bring_back=unlock,
        )
    finally:
        blocker.close()

    assert_booked_exactly(ledger_url, influx, load)
