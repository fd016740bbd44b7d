"""The harness's InfluxDB: gzip line protocol in, InfluxQL out, data kept over restarts."""

from __future__ import annotations

import gzip

import httpx
import pytest

from harness import InfluxDatabase, InfluxFactory, InfluxQueryError

LINES = (
    'telemetry,site=site-a,machine=lathe-1 amps=6.25,state="running",seq=41i 1767225600000\n'
    'telemetry,site=site-a,machine=lathe-1 amps=0.4,state="idle",seq=42i 1767225601000\n'
    'telemetry,site=site-a,machine=laser-2 amps=12.5,state="running",seq=7i 1767225601000\n'
)


def test_gzip_line_protocol_reads_back_with_influxql(influx_db: InfluxDatabase) -> None:
    written = httpx.post(
        f"{influx_db.url}/write",
        params={"db": influx_db.database, "precision": "ms"},
        content=gzip.compress(LINES.encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert written.status_code == 204, written.text

    answer = httpx.get(
        f"{influx_db.url}/query",
        params={
            "db": influx_db.database,
            "epoch": "ms",
            "q": "SELECT amps, seq, state FROM telemetry WHERE machine = 'lathe-1' ORDER BY time",
        },
    )
    assert answer.status_code == 200
    (series,) = answer.json()["results"][0]["series"]
    assert series["columns"] == ["time", "amps", "seq", "state"]
    assert series["values"] == [
        [1767225600000, 6.25, 41, "running"],
        [1767225601000, 0.4, 42, "idle"],
    ]


def test_query_helper_groups_series_by_tag(influx_db: InfluxDatabase) -> None:
    influx_db.write(LINES)
    series = influx_db.query("SELECT max(amps) FROM telemetry GROUP BY machine")
    assert {s.tags["machine"]: s.rows()[0]["max"] for s in series} == {
        "lathe-1": 6.25,
        "laser-2": 12.5,
    }


def test_each_test_gets_a_fresh_empty_database(influx_db: InfluxDatabase) -> None:
    assert influx_db.database.startswith("test_")
    assert influx_db.query("SHOW MEASUREMENTS") == []


def test_bad_line_protocol_is_refused_with_influxdbs_reason(influx_db: InfluxDatabase) -> None:
    with pytest.raises(InfluxQueryError, match="400"):
        influx_db.write("telemetry amps=not-a-number 1767225600000")


def test_bad_influxql_is_refused_with_influxdbs_reason(influx_db: InfluxDatabase) -> None:
    with pytest.raises(InfluxQueryError, match="error parsing query"):
        influx_db.query("SELEKT * FROM telemetry")


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_points_survive_an_influxdb_restart(influxdb_factory: InfluxFactory, how: str) -> None:
    server = influxdb_factory(database="floor")
    server.write(LINES)
    url = server.url

    server.stop() if how == "stop" else server.kill()
    server.start()

    assert server.url == url
    (series,) = server.query("SELECT count(amps) FROM telemetry")
    assert series.rows()[0]["count"] == 3
