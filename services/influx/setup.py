"""Retention and rollups on InfluxDB 1.x, applied idempotently over the v1 API.

Raw points go to `raw_90d` (made the database's default, so ingest writes there without naming
it) and are dropped after 90 days; continuous queries roll them up per minute into `rollups`,
kept for good, and the minutes up again per hour, so a panel over a month reads a few thousand
points instead of millions. A continuous query's definition is versioned in its name: changing
one means a new name, and setup drops the old version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.influx.client import InfluxClient
from services.influx.errors import InfluxSettingsError
from services.influx.measurements import MACHINE_STATE, TELEMETRY

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """A retention policy as `SHOW RETENTION POLICIES` reports it."""

    name: str
    duration: str  # InfluxQL duration, as created
    shown_duration: str  # as SHOW RETENTION POLICIES prints it
    default: bool


@dataclass(frozen=True, slots=True)
class Rollup:
    """A rollup of one measurement into the forever policy, per minute (of raw) or hour."""

    query_name: str  # versioned: `<target or target_field>_v<N>`
    source: str
    target: str
    fields: str
    only: str = ""  # which source points count (a condition on fields), or all of them
    every: str = "1m"
    from_rollups: bool = False  # reads another rollup, not the raw points

    @property
    def resample(self) -> str:
        """How often the continuous query runs, and over how much of the past."""
        # The last minutes are rolled up again every minute, so late points (a backlog after an
        # outage, a gateway's spool) land in their minute; older ones need `--backfill-hours`.
        # An hour is redone over the last two, once the minutes it reads have settled.
        return "EVERY 1m FOR 5m" if self.every == "1m" else "EVERY 5m FOR 2h"


RAW = RetentionPolicy("raw_90d", "90d", "2160h0m0s", default=True)
FOREVER = RetentionPolicy("rollups", "INF", "0s", default=False)
POLICIES = (RAW, FOREVER)

TELEMETRY_1M = "telemetry_1m"
MACHINE_STATE_1M = "machine_state_1m"
STATES_1M = "telemetry_states_1m"
UNATTRIBUTED_1M = "unattributed_1m"
TELEMETRY_1H = "telemetry_1h"
STATES_1H = "telemetry_states_1h"
# Samples per minute in each state (hours running, idle, unlocked).
COUNTED_STATES = ("running", "idle", "unlocked", "locked")
# Current on a locked machine at or above each of these (amps, as the dashboards offer them):
# samples per minute, in the field `over_<threshold>`; minutes without any are not written.
UNATTRIBUTED_THRESHOLDS = ("0.5", "1", "2", "5")

ROLLUPS = (
    Rollup(
        f"{TELEMETRY_1M}_v2",
        TELEMETRY,
        TELEMETRY_1M,
        "mean(amps) AS amps, max(amps) AS amps_max, mean(volts) AS volts, "
        "mean(watts) AS watts, max(wh) AS wh, count(amps) AS samples, "
        "min(seq) AS seq_min, max(seq) AS seq_max",
    ),
    Rollup(f"{MACHINE_STATE_1M}_v1", MACHINE_STATE, MACHINE_STATE_1M, "last(state) AS state"),
    *(
        Rollup(
            f"{STATES_1M}_{state}_v1",
            TELEMETRY,
            STATES_1M,
            f'count(amps) AS "{state}"',
            only=f"\"state\" = '{state}'",
        )
        for state in COUNTED_STATES
    ),
    *(
        Rollup(
            f"{UNATTRIBUTED_1M}_over_{amps}_v1",
            TELEMETRY,
            UNATTRIBUTED_1M,
            f'count(amps) AS "over_{amps}"',
            only=f'"state" = \'locked\' AND "amps" >= {amps}',
        )
        for amps in UNATTRIBUTED_THRESHOLDS
    ),
    # After the minutes it reads: a backfill runs the rollups in this order.
    Rollup(
        f"{TELEMETRY_1H}_v1",
        TELEMETRY_1M,
        TELEMETRY_1H,
        "sum(watts) / 60 AS energy_wh, max(amps_max) AS amps_max, sum(samples) AS samples, "
        "min(seq_min) AS seq_min, max(seq_max) AS seq_max",
        every="1h",
        from_rollups=True,
    ),
    Rollup(
        f"{STATES_1H}_v1",
        STATES_1M,
        STATES_1H,
        ", ".join(f'sum("{state}") AS "{state}"' for state in COUNTED_STATES),
        every="1h",
        from_rollups=True,
    ),
)


def select_into(database: str, rollup: Rollup, *, where: str = "") -> str:
    """The rollup's SELECT … INTO: the body of its continuous query, or a backfill with `where`."""
    conditions = [condition for condition in (rollup.only, where) if condition]
    clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    _check_identifier(database)
    # InfluxQL built from constants and a checked database name.
    into = f'"{database}"."{FOREVER.name}"."{rollup.target}"'
    policy = FOREVER if rollup.from_rollups else RAW
    source = f'"{database}"."{policy.name}"."{rollup.source}"'
    return (
        f"SELECT {rollup.fields} INTO {into} FROM {source}{clause} "  # noqa: S608
        f"GROUP BY time({rollup.every}), *"
    )


def _check_identifier(name: str) -> None:
    if not name or any(c in name for c in '"\\\n'):
        raise InfluxSettingsError(
            f"influx database {name!r}: no quotes, backslashes or line breaks"
        )


def continuous_query(database: str, rollup: Rollup) -> str:
    """The CREATE CONTINUOUS QUERY statement of a rollup."""
    return (
        f'CREATE CONTINUOUS QUERY "{rollup.query_name}" ON "{database}" '
        f"RESAMPLE {rollup.resample} BEGIN {select_into(database, rollup)} END"
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
