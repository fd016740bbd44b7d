"""The InfluxDB client writes batches (gzip'd off-host) and tells an outage from a refusal."""

from __future__ import annotations

import pytest

from harness.influxdb import InfluxDatabase
from harness.plugin import InfluxFactory
from harness.ports import free_port
from services.influx import (
    InfluxClient,
    InfluxRefusedError,
    InfluxSettings,
    InfluxSettingsError,
    InfluxUnavailableError,
)
from tests.ingest.load import influx_count

T0 = 1_767_225_600_000


def lines(count: int) -> list[str]:
    """count telemetry lines one millisecond apart."""
    return [
        f"telemetry,machine=lathe-1 amps={1.0 + i % 7!r},seq={i}i {T0 + i}" for i in range(count)
    ]


@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "plain"])
def test_a_full_batch_of_5000_lines_arrives_whole(influx_db: InfluxDatabase, gzip: bool) -> None:
    settings = InfluxSettings(url=influx_db.url, database=influx_db.database, gzip=gzip)
    with InfluxClient(settings) as client:
        client.write_lines(lines(5000))

    assert influx_count(influx_db) == 5000


@pytest.mark.parametrize(
    ("url", "compresses"),
    [
        ("http://127.0.0.1:8086", False),
        ("http://127.3.2.1:8086", False),
        ("http://localhost:8086", False),
        ("http://[::1]:8086", False),
        ("http://192.168.1.20:8086", True),
        ("https://influx.example.org", True),
        ("http://influxdb:8086", True),  # a compose service: another container
    ],
)
def test_writes_are_gzipped_except_over_loopback(url: str, compresses: bool) -> None:
    assert InfluxSettings(url=url, database="officina").compresses is compresses
    assert InfluxSettings(url=url, database="officina", gzip=True).compresses is True
    assert InfluxSettings(url=url, database="officina", gzip=False).compresses is False


def test_more_than_5000_lines_in_one_write_is_refused_before_sending(
    influx_db: InfluxDatabase,
) -> None:
    settings = InfluxSettings(url=influx_db.url, database=influx_db.database)
    with InfluxClient(settings) as client, pytest.raises(ValueError, match="at most 5000"):
        client.write_lines(lines(5001))


def test_a_malformed_line_is_refused_not_retryable(influx_db: InfluxDatabase) -> None:
    settings = InfluxSettings(url=influx_db.url, database=influx_db.database)
    with InfluxClient(settings) as client, pytest.raises(InfluxRefusedError) as refused:
        client.write_lines(["telemetry,machine=x amps= 12"])

    assert refused.value.status == 400


def test_a_field_changing_type_is_refused(influx_db: InfluxDatabase) -> None:
    with InfluxClient(InfluxSettings(url=influx_db.url, database=influx_db.database)) as client:
        client.write_lines(lines(1))
        with pytest.raises(InfluxRefusedError, match="conflict"):
            client.write_lines([f'telemetry,machine=lathe-1 amps="high" {T0 + 5}'])


def test_influxdb_not_listening_is_unavailable_to_retry() -> None:
    settings = InfluxSettings(url=f"http://127.0.0.1:{free_port()}", database="officina")
    with InfluxClient(settings) as client, pytest.raises(InfluxUnavailableError):
        client.write_lines(lines(3))


def test_influxdb_stopped_then_started_takes_the_same_batch(
    influxdb_factory: InfluxFactory,
) -> None:
    server = influxdb_factory()
    batch = lines(100)
    with InfluxClient(InfluxSettings(url=server.url, database=server.database)) as client:
        server.stop()
        with pytest.raises(InfluxUnavailableError):
            client.write_lines(batch)
        server.start()
        client.write_lines(batch)
        client.write_lines(batch)  # the retry of a batch that did arrive changes nothing

    assert influx_count(server) == 100


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"url": "127.0.0.1:8086", "database": "officina"}, "url"),
        ({"url": "http://127.0.0.1:8086", "database": ""}, "database"),
        ({"url": "http://x", "database": "d", "token": "t", "username": "u"}, "token"),
    ],
)
def test_settings_that_cannot_work_are_refused_naming_the_field(
    options: dict[str, str], field: str
) -> None:
    with pytest.raises(InfluxSettingsError, match=field):
        InfluxSettings(**options)  # type: ignore[arg-type]
