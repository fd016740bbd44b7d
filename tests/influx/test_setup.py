"""`officina ingest influx-setup` makes raw retention and 1-minute rollups on real InfluxDB 1.x."""

from __future__ import annotations

import time

from typer.testing import CliRunner

from harness.influxdb import InfluxServer
from services.influx import InfluxClient, InfluxSettings
from services.influx.setup import (
    FOREVER,
    RAW,
    ROLLUPS,
    apply,
    continuous_query,
    select_into,
)
from services.ingest.cli import app

runner = CliRunner()


def setup_command(server: InfluxServer, database: str) -> list[str]:
    """The command line an operator types."""
    return ["influx-setup", "--influx-url", server.url, "--influx-db", database]


def test_setup_creates_retention_and_rollup_queries_once(influxdb: InfluxServer) -> None:
    database = f"setup_{time.time_ns()}"

    first = runner.invoke(app, setup_command(influxdb, database))
    again = runner.invoke(app, setup_command(influxdb, database))

    assert first.exit_code == 0, first.output
    assert "created retention policy raw_90d" in first.output
    assert "created continuous query telemetry_1m_v2" in first.output
    assert "created continuous query telemetry_1h_v1" in first.output
    assert again.exit_code == 0, again.output
    assert "0 changes" in again.output
    [policies] = influxdb.query(f'SHOW RETENTION POLICIES ON "{database}"', database=database)
    by_name = {row["name"]: row for row in policies.rows()}
    assert by_name["raw_90d"]["duration"] == "2160h0m0s"
    assert by_name["raw_90d"]["default"] is True
    assert by_name["rollups"]["duration"] == "0s"
    queries = influxdb.query("SHOW CONTINUOUS QUERIES", database=database)
    names = {row["name"] for series in queries if series.name == database for row in series.rows()}
    assert names == {rollup.query_name for rollup in ROLLUPS}


def test_setup_replaces_an_older_version_of_a_rollup(influxdb: InfluxServer) -> None:
    database = f"upgrade_{time.time_ns()}"
    with InfluxClient(InfluxSettings(url=influxdb.url, database=database)) as client:
        apply(client)
        older = continuous_query(database, ROLLUPS[0]).replace("_v2", "_v1")
        client.execute(f'DROP CONTINUOUS QUERY "{ROLLUPS[0].query_name}" ON "{database}"')
        client.execute(older.replace(", min(seq) AS seq_min, max(seq) AS seq_max", ""))

        changed = apply(client)

    assert changed == [
        "dropped continuous query telemetry_1m_v1 (older version)",
        "created continuous query telemetry_1m_v2",
    ]
    queries = influxdb.query("SHOW CONTINUOUS QUERIES", database=database)
    names = {row["name"] for series in queries if series.name == database for row in series.rows()}
    assert names == {rollup.query_name for rollup in ROLLUPS}


def test_the_rollup_query_turns_raw_samples_into_one_minute_points(
    influxdb: InfluxServer,
) -> None:
    database = f"rollup_{time.time_ns()}"
    with InfluxClient(InfluxSettings(url=influxdb.url, database=database)) as client:
        apply(client)
        # Recent minutes: raw_90d drops anything older than 90 days on write.
        minute = (int(time.time()) // 60 - 10) * 60_000
        raw = [
            f"telemetry,machine=lathe-1,site=nord amps={amps!r},watts={amps * 230!r},wh={wh!r},"
            f'state="running",seq={seq}i {minute + seq * 10_000}'
            for seq, (amps, wh) in enumerate([(2.0, 1.0), (4.0, 2.0), (6.0, 3.0), (8.0, 4.0)])
        ]
        client.write_lines(raw)
        telemetry = next(r for r in ROLLUPS if r.source == "telemetry")
        # What the continuous query runs every minute, run by hand instead of waiting for it.
        window = f"time >= {minute}ms AND time < {minute + 60_000}ms"
        client.execute(select_into(database, telemetry, where=window))

    [series] = influxdb.query(
        f'SELECT amps, amps_max, watts, wh, samples FROM "{FOREVER.name}"."telemetry_1m"',
        database=database,
    )
    assert series.tags == {} or series.tags.get("machine") in (None, "lathe-1")
    assert series.rows() == [
        {"time": minute, "amps": 5.0, "amps_max": 8.0, "watts": 1150.0, "wh": 4.0, "samples": 4}
    ]
    [tags] = influxdb.query(
        f'SHOW TAG KEYS FROM "{FOREVER.name}"."telemetry_1m"', database=database
    )
    assert sorted(str(row["tagKey"]) for row in tags.rows()) == ["machine", "site"]
    [written] = influxdb.query(
        f'SELECT count(amps) FROM "{RAW.name}"."telemetry"', database=database
    )
    assert written.rows()[0]["count"] == 4
