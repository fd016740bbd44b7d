"""Retention and 1-minute rollups on InfluxDB 1.x, applied idempotently over the v1 API.

Raw points go to `raw_90d` (made the database's default, so ingest writes there without naming
it) and are dropped after 90 days; continuous queries roll them up per minute into `rollups`,
kept for good, where long-range dashboards read. A continuous query's definition is versioned
in its name: changing one means a new name, and setup drops the old version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.ingest.errors import SettingsError
from services.ingest.influx import InfluxClient
from services.ingest.schema import MACHINE_STATE, TELEMETRY

log = logging.getLogger(__name__)

# Re-run each continuous query over the last minutes too, so late points (a backlog after an
# outage, a gateway's spool) land in their minute; older ones need `--backfill-hours`.
RESAMPLE_FOR = "5m"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """A retention policy as `SHOW RETENTION POLICIES` reports it."""

    name: str
    duration: str  # InfluxQL duration, as created
    shown_duration: str  # as SHOW RETENTION POLICIES prints it
    default: bool


@dataclass(frozen=True, slots=True)
class Rollup:
    """A 1-minute rollup of one raw measurement into the forever policy."""

    query_name: str  # versioned: `<target>_v<N>`
    source: str
    target: str
    fields: str


RAW = RetentionPolicy("raw_90d", "90d", "2160h0m0s", default=True)
FOREVER = RetentionPolicy("rollups", "INF", "0s", default=False)
POLICIES = (RAW, FOREVER)
ROLLUPS = (
    Rollup(
        "telemetry_1m_v1",
        TELEMETRY,
        "telemetry_1m",
        "mean(amps) AS amps, max(amps) AS amps_max, mean(volts) AS volts, "
        "mean(watts) AS watts, max(wh) AS wh, count(amps) AS samples",
    ),
    Rollup("machine_state_1m_v1", MACHINE_STATE, "machine_state_1m", "last(state) AS state"),
)


def select_into(database: str, rollup: Rollup, *, where: str = "") -> str:
    """The rollup's SELECT … INTO: the body of its continuous query, or a backfill with `where`."""
    clause = f" WHERE {where}" if where else ""
    _check_identifier(database)
    # InfluxQL built from constants and a checked database name.
    into = f'"{database}"."{FOREVER.name}"."{rollup.target}"'
    source = f'"{database}"."{RAW.name}"."{rollup.source}"'
    return f"SELECT {rollup.fields} INTO {into} FROM {source}{clause} GROUP BY time(1m), *"  # noqa: S608


def _check_identifier(name: str) -> None:
    if not name or any(c in name for c in '"\\\n'):
        raise SettingsError(f"influx database {name!r}: no quotes, backslashes or line breaks")


def continuous_query(database: str, rollup: Rollup) -> str:
    """The CREATE CONTINUOUS QUERY statement of a rollup."""
    return (
        f'CREATE CONTINUOUS QUERY "{rollup.query_name}" ON "{database}" '
        f"RESAMPLE EVERY 1m FOR {RESAMPLE_FOR} BEGIN {select_into(database, rollup)} END"
    )


def apply(client: InfluxClient, *, backfill_hours: int = 0) -> list[str]:
    """Create or fix the database's policies and continuous queries; what changed, in words."""
    database = client.settings.database
    _check_identifier(database)
    changed: list[str] = []
    client.execute(f'CREATE DATABASE "{database}"')
    existing = {
        str(row["name"]): row
        for row in _rows(client.query(f'SHOW RETENTION POLICIES ON "{database}"'))
    }
    for policy in POLICIES:
        default = " DEFAULT" if policy.default else ""
        row = existing.get(policy.name)
        if row is None:
            client.execute(
                f'CREATE RETENTION POLICY "{policy.name}" ON "{database}" '
                f"DURATION {policy.duration} REPLICATION 1{default}"
            )
            changed.append(f"created retention policy {policy.name} ({policy.duration})")
        elif row["duration"] != policy.shown_duration or bool(row["default"]) != policy.default:
            client.execute(
                f'ALTER RETENTION POLICY "{policy.name}" ON "{database}" '
                f"DURATION {policy.duration}{default}"
            )
            changed.append(f"altered retention policy {policy.name} ({policy.duration})")
    queries = _continuous_queries(client, database)
    for rollup in ROLLUPS:
        family = rollup.query_name.rsplit("_v", 1)[0]
        for name in queries:
            if name != rollup.query_name and name.rsplit("_v", 1)[0] == family:
                client.execute(f'DROP CONTINUOUS QUERY "{name}" ON "{database}"')
                changed.append(f"dropped continuous query {name} (older version)")
        if rollup.query_name not in queries:
            client.execute(continuous_query(database, rollup))
            changed.append(f"created continuous query {rollup.query_name}")
        if backfill_hours > 0:
            client.execute(select_into(database, rollup, where=f"time > now() - {backfill_hours}h"))
            changed.append(f"backfilled {rollup.target} over {backfill_hours} h")
    for line in changed:
        log.info("influx setup on %s: %s", database, line)
    return changed


def _continuous_queries(client: InfluxClient, database: str) -> set[str]:
    names: set[str] = set()
    for result in client.query("SHOW CONTINUOUS QUERIES"):
        for series in _list(result.get("series")):
            if isinstance(series, dict) and series.get("name") == database:
                names |= {str(_list(row)[0]) for row in _list(series.get("values"))}
    return names


def _rows(results: list[dict[str, object]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for result in results:
        for series in _list(result.get("series")):
            if isinstance(series, dict):
                columns = [str(c) for c in _list(series.get("columns"))]
                rows += [
                    dict(zip(columns, _list(v), strict=False)) for v in _list(series.get("values"))
                ]
    return rows


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []
