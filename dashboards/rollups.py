"""The rollups the dashboards read, as InfluxQL sources, and the statements that fill them.

Ingest's setup (`services.influx.setup`) defines them and creates their continuous
queries: per minute, `telemetry_1m` (mean and peak amps, mean watts, samples, the sample
counter's range), `telemetry_states_1m` (samples in each state) and `unattributed_1m` (samples
of current on a locked machine, per threshold, only minutes that had any); per hour,
`telemetry_1h` (energy, peak amps, samples, the counter's range) and `telemetry_states_1h`
(samples in each state), which month-long panels read.
"""

from __future__ import annotations

from services.influx.setup import (
    FOREVER,
    ROLLUPS,
    STATES_1H,
    STATES_1M,
    TELEMETRY_1H,
    TELEMETRY_1M,
    UNATTRIBUTED_1M,
    UNATTRIBUTED_THRESHOLDS,
    select_into,
)

__all__ = [
    "STATES_1H_SOURCE",
    "STATES_1M_SOURCE",
    "STEPS",
    "TELEMETRY_1H_SOURCE",
    "TELEMETRY_1M_SOURCE",
    "UNATTRIBUTED_1M_SOURCE",
    "UNATTRIBUTED_THRESHOLDS",
    "backfill_statements",
]

STATES_1M_SOURCE = f'"{FOREVER.name}"."{STATES_1M}"'
STATES_1H_SOURCE = f'"{FOREVER.name}"."{STATES_1H}"'
TELEMETRY_1M_SOURCE = f'"{FOREVER.name}"."{TELEMETRY_1M}"'
UNATTRIBUTED_1M_SOURCE = f'"{FOREVER.name}"."{UNATTRIBUTED_1M}"'
TELEMETRY_1H_SOURCE = f'"{FOREVER.name}"."{TELEMETRY_1H}"'
# Each source's step: a panel reading it never groups finer (its `min_interval`).
STEPS = {
    TELEMETRY_1M_SOURCE: "1m",
    STATES_1M_SOURCE: "1m",
    UNATTRIBUTED_1M_SOURCE: "1m",
    TELEMETRY_1H_SOURCE: "1h",
    STATES_1H_SOURCE: "1h",
}


def backfill_statements(database: str, *, where: str) -> list[str]:
    """Every rollup as SELECT … INTO over the points matching `where`, minutes before hours."""
    return [select_into(database, rollup, where=where) for rollup in ROLLUPS]
