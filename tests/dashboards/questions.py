"""Questions the dashboards ask, put to the raw points and to a rollup: the answers must agree.

Each is asked per machine (and per hour or day where it says so) over a range of whole hours;
`$sample_s` is the seconds between the data's samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dashboards.expand import TimeRange, expand
from dashboards.rollups import UNATTRIBUTED_THRESHOLDS
from harness.influxdb import InfluxServer

RAW = '"raw_90d"."telemetry"'
TELEMETRY_1M = '"rollups"."telemetry_1m"'
TELEMETRY_1H = '"rollups"."telemetry_1h"'
STATES = ("running", "idle", "unlocked", "locked")


@dataclass(frozen=True, slots=True)
class SameAnswer:
    """One question, as InfluxQL on the raw points and on a rollup."""

    name: str
    raw: str
    rollup: str


SAME_ANSWERS = (
    *(
        SameAnswer(
            f"unattributed samples over {amps} A",
            f'SELECT count("amps") FROM {RAW} WHERE "state" = \'locked\' '
            f'AND "amps" >= {amps} AND $timeFilter',
            f'SELECT sum("over_{amps}") FROM "rollups"."unattributed_1m" WHERE $timeFilter',
        )
        for amps in UNATTRIBUTED_THRESHOLDS
    ),
    *(
        SameAnswer(
            f"samples {state}",
            f'SELECT count("amps") FROM {RAW} WHERE "state" = \'{state}\' AND $timeFilter',
            f'SELECT sum("{state}") FROM "rollups"."telemetry_states_1m" WHERE $timeFilter',
        )
        for state in STATES
    ),
    *(
        SameAnswer(
            f"samples {state} per hour",
            f'SELECT count("amps") FROM {RAW} WHERE "state" = \'{state}\' AND $timeFilter '
            "GROUP BY time(1h)",
            f'SELECT sum("{state}") FROM "rollups"."telemetry_states_1h" WHERE $timeFilter '
            "GROUP BY time(1h)",
        )
        for state in STATES
    ),
    SameAnswer(
        "samples lost",
        f'SELECT spread("seq") - count("seq") + 1 FROM {RAW} WHERE $timeFilter',
        'SELECT max("seq_max") - min("seq_min") - sum("samples") + 1 '
        f"FROM {TELEMETRY_1H} WHERE $timeFilter",
    ),
    SameAnswer(
        "samples per hour",
        f'SELECT count("seq") FROM {RAW} WHERE $timeFilter GROUP BY time(1h)',
        f'SELECT sum("samples") FROM {TELEMETRY_1H} WHERE $timeFilter GROUP BY time(1h)',
    ),
    SameAnswer(
        "Wh per day",
        f'SELECT sum("watts") * $sample_s / 3600 FROM {RAW} WHERE $timeFilter GROUP BY time(1d)',
        f'SELECT sum("energy_wh") FROM {TELEMETRY_1H} WHERE $timeFilter GROUP BY time(1d)',
    ),
    SameAnswer(
        "Wh per hour, minutes against hours",
        f'SELECT sum("watts") / 60 FROM {TELEMETRY_1M} WHERE $timeFilter GROUP BY time(1h)',
        f'SELECT sum("energy_wh") FROM {TELEMETRY_1H} WHERE $timeFilter GROUP BY time(1h)',
    ),
    SameAnswer(
        "peak current per hour",
        f'SELECT max("amps") FROM {RAW} WHERE $timeFilter GROUP BY time(1h)',
        f'SELECT max("amps_max") FROM {TELEMETRY_1H} WHERE $timeFilter GROUP BY time(1h)',
    ),
)


def answers(
    influx: InfluxServer, database: str, time_range: TimeRange, influxql: str, *, sample_s: int
) -> dict[tuple[str, float], float]:
    """Every number of a question's answer, by machine and time (an interval's start)."""
    grouped = influxql.replace(" GROUP BY ", ' GROUP BY "machine", ')
    if " GROUP BY " not in influxql:
        grouped += ' GROUP BY "machine"'
    query = expand(
        grouped + " fill(none)", time_range=time_range, variables={"sample_s": str(sample_s)}
    )
    return {
        (series.tags["machine"], _number(row[0])): _number(row[1])
        for series in influx.query(query, database=database)
        for row in series.values
    }


def assert_same(
    question: SameAnswer,
    raw: dict[tuple[str, float], float],
    rolled_up: dict[tuple[str, float], float],
) -> None:
    """The rollup's answer is the raw points' answer: the same keys, the same numbers."""
    assert rolled_up.keys() == raw.keys(), question.name
    for key, value in raw.items():
        assert math.isclose(rolled_up[key], value, rel_tol=1e-12, abs_tol=1e-9), (
            question.name,
            key,
        )


def _number(value: object) -> float:
    assert isinstance(value, int | float), f"not a number: {value!r}"
    return float(value)
