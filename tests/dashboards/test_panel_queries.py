"""Every panel of every dashboard, on a real InfluxDB filled with a known week through ingest."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from contract import encode_payload
from dashboards import DASHBOARDS, Panel
from dashboards.expand import TimeRange, expand, panel_queries
from dashboards.grafana_json import ALL
from dashboards.rollups import backfill_statements
from services.ingest import InfluxClient, InfluxSettings, Ingest, IngestSettings
from services.ingest.influx_setup import apply as setup_influx
from tests.dashboards import week
from tests.dashboards.questions import SAME_ANSWERS, SameAnswer, answers, assert_same
from tests.harness.influxdb import InfluxServer, Series
from tests.harness.mosquitto import MosquittoServer, start_mosquitto
from tests.harness.mqtt import MqttProbe

WAIT_S = 30.0
LIVE_AT_MS = week.WORK_START_MS + 150 * week.MINUTE_MS  # 10:30, in the running stretch


@dataclass(frozen=True, slots=True)
class SeededWeek:
    """The database holding the week, and the dashboard range and variables that show it."""

    influx: InfluxServer
    database: str
    time_range: TimeRange
    variables: dict[str, str | list[str]]

    @property
    def live_range(self) -> TimeRange:
        """The week as seen at 10:30 of its last day, every machine running: for live panels."""
        now_ms = self.time_range.start_ms + (week.DAYS - 1) * week.DAY_MS + LIVE_AT_MS
        return TimeRange(self.time_range.start_ms, now_ms - 1)

    def range_for(self, panel: Panel) -> TimeRange:
        """The dashboard range a panel is checked with: live panels show their last hour."""
        return self.live_range if panel.relative_time else self.time_range

    def run(self, influxql: str) -> list[Series]:
        """Run one expanded query on the week's database."""
        return self.influx.query(influxql, database=self.database)


def _week_start_ms() -> int:
    # The last whole week before today (UTC): inside the raw data's 90 days, aligned to days.
    today_ms = int(time.time() * 1000) // week.DAY_MS * week.DAY_MS
    return today_ms - week.DAYS * week.DAY_MS


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    """A broker of this module's own: the week's retained states must not reach other tests."""
    server = start_mosquitto(workdir=tmp_path_factory.mktemp("week-broker"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def seeded(
    influxdb: InfluxServer, broker: MosquittoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededWeek]:
    """The week published by gateways, booked by the real ingest, then rolled up per minute."""
    database = f"week_{uuid.uuid4().hex[:8]}"
    influx_settings = InfluxSettings(url=influxdb.url, database=database)
    with InfluxClient(influx_settings) as client:
        setup_influx(client)
    start_ms = _week_start_ms()
    messages = [
        (topic, payload)
        for machine in week.MACHINES
        for stream in (week.telemetry, week.state_changes)
        for topic, payload in stream(start_ms, machine)
    ]
    settings = IngestSettings(
        broker_host=broker.host,
        broker_port=broker.port,
        client_id=f"ingest-week-{uuid.uuid4().hex[:8]}",
        ledger_url=f"sqlite:///{tmp_path_factory.mktemp('week-ledger') / 'ledger.sqlite3'}",
        influx=influx_settings,
        flush_interval_s=0.2,
    )
    try:
        with Ingest(settings) as ingest:
            ingest.wait_connected(WAIT_S)
            with MqttProbe(host=broker.host, port=broker.port) as gateway:
                for topic, payload in messages:
                    gateway.publish(topic, encode_payload(payload))
            assert ingest.wait_for_count("influx_lines", len(messages), WAIT_S), ingest.counters
        end_ms = start_ms + week.DAYS * week.DAY_MS - 1
        for statement in backfill_statements(
            database, where=f"time >= {start_ms}ms AND time <= {end_ms}ms"
        ):
            influxdb.execute(statement)
        yield SeededWeek(
            influx=influxdb,
            database=database,
            time_range=TimeRange(start_ms, end_ms),
            variables={
                "site": sorted({m.site for m in week.MACHINES}),
                "machine": sorted(m.machine for m in week.MACHINES),
                "sample_s": str(week.SAMPLE_S),
                "unattributed_amps": "0.5",
                "bucket": "1d",
            },
        )
    finally:
        influxdb.drop_database(database)


def by_machine(series: list[Series], column: str) -> dict[str, float]:
    """One number per machine from a query grouped by machine (its only row)."""
    return {s.tags["machine"]: _number(s.rows()[0][column]) for s in series}


def _number(value: object) -> float:
    assert isinstance(value, int | float), f"not a number: {value!r}"
    return float(value)


def column(series: Series, name: str) -> list[float]:
    """A series' column as numbers."""
    return [_number(row[name]) for row in series.rows()]


RUN_HOURS_A_DAY = 2.0
MACHINE_KWH = {m.machine: m.kwh_per_day() * week.DAYS for m in week.MACHINES}
WEEK_S = week.DAYS * 86_400


def _check_state(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (states,) = answers
    assert {s.tags["machine"] for s in states} == set(MACHINE_KWH)
    for series in states:
        shown = [row["state"] for row in series.rows()]
        assert shown[:5] == ["locked", "running", "idle", "unlocked", "locked"]
        assert len(shown) == 5 * week.DAYS


def _check_live_current(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (current,) = answers
    now_ms = seeded.live_range.end_ms
    shown = {
        s.tags["machine"]: [
            (_number(row["time"]), amps)
            for row, amps in zip(s.rows(), column_or_none(s), strict=True)
            if amps is not None
        ]
        for s in current
    }
    assert set(shown) == set(MACHINE_KWH)
    for machine in week.MACHINES:
        samples = shown[machine.machine]
        # The last hour only, whatever the dashboard's range: sixty samples, all running.
        assert len(samples) == 60, machine.machine
        assert all(now_ms - 3_600_000 <= t <= now_ms for t, _ in samples)
        assert {amps for _, amps in samples} == {machine.run_amps}


def column_or_none(series: Series) -> list[float | None]:
    """The single value column, holes (no samples in an interval) as None."""
    return [None if row["mean"] is None else _number(row["mean"]) for row in series.rows()]


def _check_on_it_now(answers: list[list[Series]], seeded: SeededWeek) -> None:
    states, amps = answers
    assert {s.tags["machine"]: s.rows()[0]["state"] for s in states} == dict.fromkeys(
        MACHINE_KWH, "locked"
    )
    assert by_machine(amps, "amps") == dict.fromkeys(MACHINE_KWH, 0.0)


def _check_unattributed(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (minutes,) = answers
    assert by_machine(minutes, "minutes") == dict.fromkeys(MACHINE_KWH, 30.0 * week.DAYS)


def _check_hours(answers: list[list[Series]], seeded: SeededWeek) -> None:
    expected_per_day = {"running": RUN_HOURS_A_DAY, "idle": 1.0, "unlocked": 1.0}
    for answer, (state, hours) in zip(answers, expected_per_day.items(), strict=True):
        assert {s.tags["machine"] for s in answer} == set(MACHINE_KWH)
        for series in answer:
            assert column(series, state) == [hours] * week.DAYS, (state, series.tags)


def _check_utilisation(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (shares,) = answers
    range_s = seeded.time_range.length_ms // 1000
    expected = RUN_HOURS_A_DAY * week.DAYS * 3600 * 100 / range_s
    for share in by_machine(shares, "utilisation").values():
        assert math.isclose(share, expected)
    assert round(expected, 2) == 8.33


def _check_energy_per_bucket(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (energy,) = answers
    for series in energy:
        per_day = MACHINE_KWH[series.tags["machine"]] / week.DAYS
        assert [round(v, 6) for v in column(series, "kWh")] == [round(per_day, 6)] * week.DAYS


def _check_kwh_per_machine(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (energy,) = answers
    got = by_machine(energy, "kWh")
    assert {k: round(v, 6) for k, v in got.items()} == {
        k: round(v, 6) for k, v in MACHINE_KWH.items()
    }
    assert round(got["lathe-1"], 3) == 37.835


def _check_kwh_per_day(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (energy,) = answers
    per_site: dict[str, float] = {}
    for machine in week.MACHINES:
        per_site[machine.site] = per_site.get(machine.site, 0.0) + machine.kwh_per_day()
    got = {s.tags["site"]: column(s, "kWh") for s in energy}
    assert {k: [round(v, 6) for v in days] for k, days in got.items()} == {
        k: [round(v, 6)] * week.DAYS for k, v in per_site.items()
    }


def _check_projection(answers: list[list[Series]], seeded: SeededWeek) -> None:
    ((projection,),) = answers
    total = sum(MACHINE_KWH.values())
    expected = total * 2_592_000 / (seeded.time_range.length_ms // 1000)
    assert math.isclose(_number(projection.rows()[0]["kWh"]), expected)


def _check_peak(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (peaks,) = answers
    assert by_machine(peaks, "peak") == {m.machine: m.run_amps for m in week.MACHINES}


def _check_last_heard(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (last,) = answers
    last_sample_ms = (
        seeded.time_range.start_ms
        + (week.DAYS - 1) * week.DAY_MS
        + week.WORK_START_MS
        + (week.WORK_MINUTES - 1) * week.MINUTE_MS
    )
    for series in last:
        assert series.rows()[0]["time"] == last_sample_ms
        assert series.rows()[0]["seq"] == week.DAYS * week.WORK_MINUTES


def _check_samples_per_minute(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (rates,) = answers
    interval_min = 60  # the hourly rollup's step (Grafana's 15 min for a week is finer)
    for series in rates:
        values = set(column(series, "per minute"))
        # One sample a minute while the gateway is on, none at night; the lathe's lost samples
        # show as one thinner interval.
        expected = {0.0, 1.0}
        if series.tags["machine"] == "lathe-1":
            expected.add((interval_min - len(week.LOST_SEQS)) / interval_min)
        assert values == expected


def _check_lost(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (lost,) = answers
    assert by_machine(lost, "lost") == {"lathe-1": 5.0, "mill-1": 0.0, "laser-1": 0.0}


Check = Callable[[list[list[Series]], SeededWeek], None]
EXPECTED: dict[tuple[str, str], Check] = {
    ("officina-floor-now", "State"): _check_state,
    ("officina-floor-now", "Live current"): _check_live_current,
    ("officina-floor-now", "On it now"): _check_on_it_now,
    ("officina-floor-now", "Unattributed use"): _check_unattributed,
    ("officina-machines", "Hours per machine"): _check_hours,
    ("officina-machines", "Utilisation"): _check_utilisation,
    ("officina-machines", "Energy per machine"): _check_energy_per_bucket,
    ("officina-energy", "kWh per machine"): _check_kwh_per_machine,
    ("officina-energy", "kWh per day"): _check_kwh_per_day,
    ("officina-energy", "Projected kWh for 30 days"): _check_projection,
    ("officina-energy", "Peak current"): _check_peak,
    ("officina-gateways", "Last heard"): _check_last_heard,
    ("officina-gateways", "Samples per minute"): _check_samples_per_minute,
    ("officina-gateways", "Samples lost"): _check_lost,
}
PANELS = [(d.uid, p) for d in DASHBOARDS for p in d.panels]


def test_every_panel_has_its_expected_numbers_written_down() -> None:
    assert {(uid, panel.title) for uid, panel in PANELS} == set(EXPECTED)


@pytest.mark.parametrize(("uid", "panel"), PANELS, ids=[f"{u}:{p.title}" for u, p in PANELS])
def test_panel_shows_the_known_week(uid: str, panel: Panel, seeded: SeededWeek) -> None:
    time_range = seeded.range_for(panel)
    answers = [
        seeded.run(query)
        for query in panel_queries(panel, time_range=time_range, variables=seeded.variables)
    ]
    for query, answer in zip(panel.queries, answers, strict=True):
        assert answer, f"{uid} / {panel.title}: no data for {query.influxql}"
    EXPECTED[(uid, panel.title)](answers, seeded)


def test_site_and_machine_variables_list_what_ingest_wrote(seeded: SeededWeek) -> None:
    variables = {v.name: v for d in DASHBOARDS for v in d.variables}
    sites = seeded.run(
        expand(variables["site"].definition, time_range=seeded.time_range, variables={})
    )
    assert [row["value"] for row in sites[0].rows()] == ["officina-nord", "officina-sud"]
    machines = seeded.run(
        expand(
            variables["machine"].definition,
            time_range=seeded.time_range,
            variables={"site": "officina-nord"},
        )
    )
    assert [row["value"] for row in machines[0].rows()] == ["lathe-1", "mill-1"]


def test_a_site_filter_shows_only_that_sites_machines(seeded: SeededWeek) -> None:
    energy = next(d for d in DASHBOARDS if d.uid == "officina-energy").panels[0]
    (query,) = panel_queries(
        energy,
        time_range=seeded.time_range,
        variables={**seeded.variables, "site": "officina-sud"},
    )
    assert set(by_machine(seeded.run(query), "kWh")) == {"laser-1"}


def test_all_as_grafana_sends_it_shows_every_machine(seeded: SeededWeek) -> None:
    energy = next(d for d in DASHBOARDS if d.uid == "officina-energy").panels[0]
    (query,) = panel_queries(
        energy,
        time_range=seeded.time_range,
        variables={**seeded.variables, "site": ALL, "machine": ALL},
    )
    assert set(by_machine(seeded.run(query), "kWh")) == set(MACHINE_KWH)


@pytest.mark.parametrize("question", SAME_ANSWERS, ids=[q.name for q in SAME_ANSWERS])
def test_a_rollup_gives_the_raw_points_answer_for_the_week(
    question: SameAnswer, seeded: SeededWeek
) -> None:
    raw, rolled_up = (
        answers(seeded.influx, seeded.database, seeded.time_range, influxql, sample_s=week.SAMPLE_S)
        for influxql in (question.raw, question.rollup)
    )
    assert_same(question, raw, rolled_up)
    # Only the highest threshold is above the week's stray current (3 A): no minute counts.
    assert bool(raw) == (question.name != "unattributed samples over 5 A")
