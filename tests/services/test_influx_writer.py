"""The InfluxDB writer sends every point, in batches, and keeps what InfluxDB did not take."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from services.ingest import InfluxSettings, InfluxWriteError, InfluxWriter, Point
from services.ingest.errors import SettingsError
from tests.harness.influxdb import InfluxDatabase, InfluxServer
from tests.harness.plugin import InfluxFactory

T0 = 1_767_225_600_000


def samples(count: int, *, machine: str = "lathe-1") -> list[Point]:
    """count telemetry points one millisecond apart."""
    return [
        Point("telemetry", {"amps": 1.0 + i % 7, "seq": i}, T0 + i, {"machine": machine})
        for i in range(count)
    ]


def count_in(database: InfluxDatabase | InfluxServer, measurement: str = "telemetry") -> int:
    """How many points a measurement holds."""
    series = database.query(f'SELECT count("seq") FROM "{measurement}"')
    if not series:
        return 0
    count = series[0].rows()[0]["count"]
    assert isinstance(count, int)
    return count


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Whether check() comes true before the deadline (InfluxDB is only eventually written)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def settings_for(database: InfluxDatabase) -> InfluxSettings:
    """Writer settings for a test database."""
    return InfluxSettings(url=database.url, database=database.database)


def test_more_points_than_one_batch_all_arrive(influx_db: InfluxDatabase) -> None:
    with InfluxWriter(settings_for(influx_db), flush_interval_s=60) as writer:
        writer.write(samples(12_001))
        writer.flush()
        totals = writer.totals

    assert (totals.written, totals.pending, totals.rejected) == (12_001, 0, 0)
    assert count_in(influx_db) == 12_001


def test_points_are_sent_on_the_flush_interval_without_asking(influx_db: InfluxDatabase) -> None:
    with InfluxWriter(settings_for(influx_db), flush_interval_s=0.1) as writer:
        writer.write(samples(3))

        assert eventually(lambda: count_in(influx_db) == 3)


def test_close_sends_what_is_still_buffered(influx_db: InfluxDatabase) -> None:
    writer = InfluxWriter(settings_for(influx_db), flush_interval_s=60)
    writer.write(samples(10))

    writer.close()

    assert count_in(influx_db) == 10


def test_points_wait_for_an_influxdb_that_is_down_and_arrive_when_it_is_back(
    influxdb_factory: InfluxFactory,
) -> None:
    server = influxdb_factory()
    server.stop()
    settings = InfluxSettings(url=server.url, database=server.database)
    with InfluxWriter(settings, flush_interval_s=60, max_backoff_s=0.2) as writer:
        writer.write(samples(50))

        with pytest.raises(InfluxWriteError, match="/write"):
            writer.flush()
        assert writer.totals.pending == 50

        server.start()
        writer.flush()

        assert writer.totals.pending == 0
    assert count_in(server) == 50


def test_a_missing_database_keeps_the_points_until_it_exists(influx_db: InfluxDatabase) -> None:
    settings = InfluxSettings(url=influx_db.url, database=f"{influx_db.database}_later")
    with InfluxWriter(settings, flush_interval_s=60) as writer:
        writer.write(samples(5))

        with pytest.raises(InfluxWriteError) as refused:
            writer.flush()
        assert refused.value.status == 404
        assert writer.totals.pending == 5

        influx_db.server.create_database(settings.database)
        try:
            writer.flush()
            later = InfluxDatabase(server=influx_db.server, database=settings.database)
            assert count_in(later) == 5
        finally:
            influx_db.server.drop_database(settings.database)


def test_lines_influxdb_refuses_as_malformed_are_counted_and_the_next_ones_still_go(
    influx_db: InfluxDatabase,
) -> None:
    with InfluxWriter(settings_for(influx_db), flush_interval_s=60) as writer:
        writer.write([Point("telemetry", {"amps": 1.5, "seq": 1}, T0)])
        writer.flush()
        # Same field, another type: InfluxDB refuses it, and would refuse it again forever.
        writer.write([Point("telemetry", {"amps": "high", "seq": 2}, T0 + 1)])
        writer.flush()
        writer.write([Point("telemetry", {"amps": 2.5, "seq": 3}, T0 + 2)])
        writer.flush()
        totals = writer.totals

    assert (totals.written, totals.rejected, totals.pending) == (2, 1, 0)
    assert count_in(influx_db) == 2


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"url": "localhost:8086", "database": "officina"}, "influx url"),
        ({"url": "http://127.0.0.1:1", "database": ""}, "influx database"),
        ({"url": "http://h", "database": "d", "token": "t", "username": "u"}, "token and username"),
    ],
)
def test_unusable_influx_settings_are_refused_naming_the_field(
    kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        InfluxSettings(**kwargs)
