"""The rollups the dashboards read answer as the raw points do, on samples ten seconds apart.

Two machines send a sample every ten seconds for three hours: states change in the middle of
minutes, the current on the locked machine crosses every unattributed-use threshold, and the
saw's gateway loses ten samples across a minute boundary (while unlocked, drawing nothing).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dashboards.expand import TimeRange
from dashboards.rollups import backfill_statements
from harness.influxdb import InfluxServer
from services.influx import InfluxClient, InfluxSettings
from services.influx.setup import apply as setup_influx
from tests.dashboards.questions import SAME_ANSWERS, SameAnswer, answers, assert_same

SAMPLE_S = 10
HOUR_MS = 3_600_000
HOURS = 3
STATES = ("locked", "running", "idle", "unlocked")
STATE_S = 210  # three and a half minutes in each state, in turn
STRAY_AMPS = (
    0.0,
    0.5,
    1.0,
    1.5,
    2.0,
    5.0,
    6.0,
)  # on the locked machine: at and over each threshold
MACHINES = (("press-1", 0, frozenset[int]()), ("saw-1", 95, frozenset(range(56, 66))))


@dataclass(frozen=True, slots=True)
class Dense:
    """The database holding the three hours, and their range."""

    influx: InfluxServer
    database: str
    time_range: TimeRange


def _lines(start_ms: int) -> Iterator[str]:
    for machine, offset_s, lost in MACHINES:
        for i in range(HOURS * 3600 // SAMPLE_S):
            state = STATES[(i * SAMPLE_S + offset_s) // STATE_S % len(STATES)]
            if i in lost:
                assert state == "unlocked"  # no energy lost with them: the Wh still agree
                continue
            amps = {
                "locked": STRAY_AMPS[i % len(STRAY_AMPS)],
                "running": 8.0 + (i % 7) * 0.5,
                "idle": 1.2,
            }.get(state, 0.0)
            ts = start_ms + i * SAMPLE_S * 1000
            yield (
                f"telemetry,machine={machine},site=nord amps={amps!r},volts=230.0,"
                f'watts={amps * 230.0!r},state="{state}",seq={i + 1}i {ts}'
            )


@pytest.fixture(scope="module")
def dense(influxdb: InfluxServer) -> Iterator[Dense]:
    """Three recent hours of samples, written as ingest writes them, then rolled up."""
    database = f"dense_{uuid.uuid4().hex[:8]}"
    with InfluxClient(InfluxSettings(url=influxdb.url, database=database)) as client:
        setup_influx(client)
        # Whole recent hours: inside the raw data's 90 days, aligned to the hourly rollup.
        start_ms = (int(time.time() * 1000) // HOUR_MS - HOURS - 2) * HOUR_MS
        client.write_lines(list(_lines(start_ms)))
    end_ms = start_ms + HOURS * HOUR_MS - 1
    try:
        for statement in backfill_statements(
            database, where=f"time >= {start_ms}ms AND time <= {end_ms}ms"
        ):
            influxdb.execute(statement)
        yield Dense(influxdb, database, TimeRange(start_ms, end_ms))
    finally:
        influxdb.drop_database(database)


@pytest.mark.parametrize("question", SAME_ANSWERS, ids=[q.name for q in SAME_ANSWERS])
def test_a_rollup_gives_the_raw_points_answer(question: SameAnswer, dense: Dense) -> None:
    raw, rolled_up = (
        answers(dense.influx, dense.database, dense.time_range, influxql, sample_s=SAMPLE_S)
        for influxql in (question.raw, question.rollup)
    )
    assert raw, f"{question.name}: the raw points give no answer"
    assert_same(question, raw, rolled_up)


def test_the_saws_lost_samples_show_in_the_hourly_rollup(dense: Dense) -> None:
    lost = next(q for q in SAME_ANSWERS if q.name == "samples lost")
    got = answers(dense.influx, dense.database, dense.time_range, lost.rollup, sample_s=SAMPLE_S)
    assert {machine: value for (machine, _), value in got.items()} == {
        "press-1": 0.0,
        "saw-1": 10.0,
    }
