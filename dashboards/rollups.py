"""The 1-minute rollups the dashboards read for long ranges, and the statements that fill them.

`telemetry_1m` is ingest's rollup (`services.ingest.influx_setup`): mean and peak amps, mean
watts, the energy counter and the sample count per minute. The dashboards also need how many of
each minute's samples were in each state (hours running, idle, unlocked); `telemetry_states_1m`
holds those counts, one SELECT … INTO per state, merged into one point per machine and minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.influx_setup import FOREVER, RAW, ROLLUPS
from services.ingest.influx_setup import select_into as ingest_select_into
from services.ingest.schema import TELEMETRY

TELEMETRY_1M = f'"{FOREVER.name}"."telemetry_1m"'
STATES_1M_NAME = "telemetry_states_1m"
STATES_1M = f'"{FOREVER.name}"."{STATES_1M_NAME}"'
COUNTED_STATES = ("running", "idle", "unlocked", "locked")


@dataclass(frozen=True, slots=True)
class StateCount:
    """Per minute, how many samples a machine sent in one state."""

    state: str

    def select_into(self, database: str, *, where: str = "") -> str:
        """The SELECT … INTO that rolls this state's samples up (a CQ body, or a backfill)."""
        extra = f" AND {where}" if where else ""
        into = f'"{database}"."{FOREVER.name}"."{STATES_1M_NAME}"'
        source = f'"{database}"."{RAW.name}"."{TELEMETRY}"'
        return (
            f'SELECT count("amps") AS "{self.state}" INTO {into} FROM {source} '  # noqa: S608
            f"WHERE \"state\" = '{self.state}'{extra} GROUP BY time(1m), *"
        )

    def continuous_query(self, database: str) -> str:
        """The CREATE CONTINUOUS QUERY statement for InfluxDB 1.x."""
        return (
            f'CREATE CONTINUOUS QUERY "{STATES_1M_NAME}_{self.state}_v1" ON "{database}" '
            f"RESAMPLE EVERY 1m FOR 5m BEGIN {self.select_into(database)} END"
        )


STATE_COUNTS = tuple(StateCount(state) for state in COUNTED_STATES)


def backfill_statements(database: str, *, where: str) -> list[str]:
    """Every rollup the dashboards read, as SELECT … INTO over the raw points matching `where`."""
    statements = [ingest_select_into(database, rollup, where=where) for rollup in ROLLUPS]
    return statements + [count.select_into(database, where=where) for count in STATE_COUNTS]
