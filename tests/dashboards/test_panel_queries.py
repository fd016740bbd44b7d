"""Every panel of every dashboard, on a real InfluxDB filled with a known week through ingest."""

from __future__ import annotations

import math
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from contract import Envelope, SessionRecord, encode_payload
from contract.mqtt import MqttProtocol
from dashboards import DASHBOARDS, Panel
from dashboards.expand import TimeRange, expand, panel_queries
from dashboards.grafana_json import ALL
from dashboards.rollups import backfill_statements
from harness.influxdb import InfluxServer, Series
from harness.mosquitto import MosquittoServer, start_mosquitto
from harness.mqtt import MqttProbe
from services.api.machine_service import MachineService, service_points
from services.billing import AllocationKey, Billing, BillingLedger, BillingSettings, CostPool
from services.billing.months import Month
from services.billing.projection import PoolProjector
from services.influx import InfluxClient, InfluxSettings
from services.influx.setup import apply as setup_influx
from services.ingest import Ingest, IngestSettings
from services.ledger import Registry, member_pseudonym, open_ledger
from tests.dashboards import week
from tests.dashboards.questions import SAME_ANSWERS, SameAnswer, answers, assert_same

WAIT_S = 30.0
LIVE_AT_MS = week.WORK_START_MS + 150 * week.MINUTE_MS  # 10:30, in the running stretch
PSEUDONYM_KEY = "the week's pseudonym key, long enough to be refused by nobody"
# Billing projects the month's pools at 10:15 of the last day, within the live panels' hour.
PROJECTED_AT_MS = LIVE_AT_MS - 15 * week.MINUTE_MS
POOLS = (
    CostPool(name="Luce", total_cents=9_000, key=AllocationKey.KWH),
    CostPool(name="Manutenzione", total_cents=6_001, key=AllocationKey.RUNNING_HOURS),
)


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
    messages: list[tuple[str, Envelope]] = [
        (topic, payload)
        for machine in week.MACHINES
        for stream in (week.telemetry, week.state_changes, week.sessions)
        for topic, payload in stream(start_ms, machine)
    ]
    messages += [status for gateway in week.GATEWAYS for status in week.statuses(start_ms, gateway)]
    garbage = week.rejected(start_ms)
    conflicted = next(
        (topic, payload)
        for topic, payload in messages
        if isinstance(payload, SessionRecord)
        and (topic.split("/")[2], payload.machine) == week.CONFLICTED_MACHINE
    )
    settings = IngestSettings(
        broker=broker.options(
            client_id=f"ingest-week-{uuid.uuid4().hex[:8]}", protocol=MqttProtocol.V5
        ),
        ledger_url=f"sqlite:///{tmp_path_factory.mktemp('week-ledger') / 'ledger.sqlite3'}",
        influx=influx_settings,
        flush_interval_s=0.2,
        pseudonym_key=PSEUDONYM_KEY,
    )
    _register_members(settings.ledger_url, messages)
    try:
        with Ingest(settings) as ingest:
            ingest.wait_connected(WAIT_S)
            with MqttProbe(host=broker.host, port=broker.port) as gateway:
                for topic, payload in messages:
                    gateway.publish(topic, encode_payload(payload))
                for topic, raw in garbage:
                    gateway.publish(topic, raw)
            # Each rejected message is a point too.
            lines = len(messages) + len(garbage)
            assert ingest.wait_for_count("influx_lines", lines, WAIT_S), ingest.counters
            assert ingest.wait_for_count("rejected", len(garbage), WAIT_S), ingest.counters
            # Once the first copy is booked, the altered one is a conflict, and a point too.
            topic, record = conflicted
            with MqttProbe(host=broker.host, port=broker.port) as gateway:
                gateway.publish(topic, encode_payload(week.conflicting_copy(record)))
            assert ingest.wait_for_count("session_conflicts", 1, WAIT_S), ingest.counters
            assert ingest.wait_for_count("influx_lines", lines + 1, WAIT_S), ingest.counters
        end_ms = start_ms + week.DAYS * week.DAY_MS - 1
        for statement in backfill_statements(
            database, where=f"time >= {start_ms}ms AND time <= {end_ms}ms"
        ):
            influxdb.execute(statement)
        _project_pools(settings.ledger_url, influx_settings, _projected_at_ms(start_ms))
        _write_service_states(influx_settings, start_ms)
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


def _register_members(ledger_url: str, messages: list[tuple[str, Envelope]]) -> None:
    """The week's members in the registry, so their sessions are billed (and projected)."""
    registry = Registry(open_ledger(ledger_url))
    try:
        members = {p.member for _, p in messages if isinstance(p, SessionRecord)}
        for member in sorted(members):
            registry.add_member(member_id=member, name=member.title())
    finally:
        registry.engine.dispose()


def _projected_at_ms(week_start_ms: int) -> int:
    return week_start_ms + (week.DAYS - 1) * week.DAY_MS + PROJECTED_AT_MS


def _project_pools(ledger_url: str, influx: InfluxSettings, at_ms: int) -> None:
    """The month's pools entered and projected by billing over what ingest booked."""
    at = datetime.fromtimestamp(at_ms / 1000, UTC)
    ledger = BillingLedger.open(ledger_url)
    try:
        billing = Billing(ledger, BillingSettings(), terminal=False)
        month = Month.of(at.astimezone(billing.tz).date())
        for pool in POOLS:
            ledger.add_pool(month, pool)
        with InfluxClient(influx) as client:
            projector = PoolProjector(
                billing, client, pseudonym_key=PSEUDONYM_KEY, clock=lambda: at
            )
            projector.project()
    finally:
        ledger.close()


# Each machine's service state as the api's maintenance watch writes it: at 10:00 of the last day
# every machine is in order; at 10:20 the lathe has a fault reported and the mill a task due.
SERVICE_EARLIER = {
    m.machine: MachineService(m.machine, hours_to_service=50.0, days_to_service=10.0)
    for m in week.MACHINES
}
SERVICE_LATEST = {
    "lathe-1": MachineService("lathe-1", "fault reported", 0, 41.5, None),
    "mill-1": MachineService("mill-1", None, 1, 0.0, 3.25),
    "laser-1": MachineService("laser-1", None, 0, None, 12.0),
}


def _write_service_states(influx: InfluxSettings, week_start_ms: int) -> None:
    """Two looks of the maintenance watch within the live panels' hour, by site."""
    last_day_ms = week_start_ms + (week.DAYS - 1) * week.DAY_MS
    lines = []
    for looked, at_ms in (
        (SERVICE_EARLIER, last_day_ms + LIVE_AT_MS - 30 * week.MINUTE_MS),
        (SERVICE_LATEST, last_day_ms + LIVE_AT_MS - 10 * week.MINUTE_MS),
    ):
        for machine in week.MACHINES:
            services = {machine.machine: looked[machine.machine]}
            points = service_points(services, site=machine.site, at_ms=at_ms)
            lines += [p.to_line() for p in points]
    with InfluxClient(influx) as client:
        client.write_lines(lines)


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


def _week_ms(seeded: SeededWeek, day: int, minute: int) -> int:
    return seeded.time_range.start_ms + day * week.DAY_MS + week.WORK_START_MS + minute * 60_000


def _check_online(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (latest,) = answers
    last_day = week.DAYS - 1
    shown = {
        (s.tags["site"], s.tags["gateway"]): (s.rows()[0]["status"], s.rows()[0]["time"])
        for s in latest
    }
    assert shown == {
        ("officina-nord", "gw-nord"): ("offline", _week_ms(seeded, last_day, week.WORK_MINUTES)),
        ("officina-sud", "gw-sud"): ("online", _week_ms(seeded, last_day, 9 * 60)),
    }
    spools = {s.tags["gateway"]: s.rows()[0]["spool"] for s in latest}
    assert spools == {"gw-nord": 0.0, "gw-sud": float(week.SOUTH_LAST_SPOOL)}


def _check_spool_backlog(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (backlog,) = answers
    shown = {
        s.tags["gateway"]: [
            (_number(row["time"]), _number(row["spool"]))
            for row in s.rows()
            if row["spool"] is not None
        ]
        for s in backlog
    }
    # Each status in an interval of its own (15 minutes over a week), its spool as sent.
    expected = {
        gateway.gateway: [
            (float(status.ts), float(status.spool or 0))
            for _, status in week.statuses(seeded.time_range.start_ms, gateway)
        ]
        for gateway in week.GATEWAYS
    }
    assert shown == expected
    assert max(v for _, v in shown["gw-nord"]) == 240.0
    assert len(shown["gw-nord"]) == week.DAYS * (week.STATUS_HOURS + 1)
    # Between statuses, nothing: a gap, not a zero.
    assert all(len(s.rows()) > len(shown[s.tags["gateway"]]) for s in backlog)


def _check_session_conflicts(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (counts,) = answers
    shown = {(s.tags["site"], s.tags["machine"]): _number(s.rows()[0]["conflicts"]) for s in counts}
    assert shown == week.SESSION_CONFLICTS


def _check_rejected(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (counts,) = answers
    shown = {(s.tags["site"], s.tags["kind"]): _number(s.rows()[0]["rejected"]) for s in counts}
    # The dashboard's sites are the two of the week: a topic with no valid site is not theirs.
    assert shown == {key: n for key, n in week.REJECTED.items() if key[0] != "unknown"}


def _week_sessions() -> list[tuple[int, week.WeekMachine, str]]:
    """(day, machine, member) of every session of the week."""
    return [(d, m, week.member_of(m, d)) for d in range(week.DAYS) for m in week.MACHINES]


def _pseudonym(member: str) -> str:
    return member_pseudonym(member, PSEUDONYM_KEY)


def _ranked(series: list[Series], column: str) -> list[tuple[str, float]]:
    """(user, value) rows of a top-members table, in the order the panel shows them."""
    (table,) = series
    return [(str(row["user"]), _number(row[column])) for row in table.rows()]


def _most_first(tally: dict[str, float]) -> list[tuple[str, float]]:
    """(user, value) from the largest value down, ties in the order first counted."""
    return sorted(tally.items(), key=lambda item: item[1], reverse=True)


def _check_top_users(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (top,) = answers
    hours: defaultdict[str, float] = defaultdict(float)
    for _, _, member in _week_sessions():
        hours[_pseudonym(member)] += 2.0
    assert _ranked(top, "hours running") == _most_first(hours)
    # Giulia: the lathe every day and the laser four days; Marco the mill; Sara the laser 3 days.
    assert [h for _, h in _most_first(hours)] == [22.0, 14.0, 6.0]


def _check_kwh_per_member(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (top,) = answers
    kwh: defaultdict[str, float] = defaultdict(float)
    for _, machine, member in _week_sessions():
        kwh[_pseudonym(member)] += week.session_kwh(machine)
    shown = _ranked(top, "kWh")
    assert [user for user, _ in shown] == [user for user, _ in _most_first(kwh)]
    for user, value in shown:
        assert math.isclose(value, kwh[user]), user
    # Metered per session, without the half hour of stray current on the locked machines.
    assert sum(v for _, v in shown) < sum(MACHINE_KWH.values())


def _check_projected_shares(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (shares,) = answers
    at_ms = _projected_at_ms(seeded.time_range.start_ms)
    rome = ZoneInfo("Europe/Rome")
    month = Month.of(datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(rome).date())
    # Usage of the month so far: the week's sessions that began in it, before the projection.
    used: dict[str, defaultdict[str, float]] = {
        "Luce": defaultdict(float),
        "Manutenzione": defaultdict(float),
    }
    for day, machine, member in _week_sessions():
        started_ms = seeded.time_range.start_ms + day * week.DAY_MS + week.WORK_START_MS + 3_600_000
        started = datetime.fromtimestamp(started_ms / 1000, UTC).astimezone(rome)
        if Month.of(started.date()) == month and started_ms < at_ms:
            used["Luce"][member] += week.session_kwh(machine)
            used["Manutenzione"][member] += 2.0
    shown = {(s.tags["pool"], s.tags["user"]): s.rows()[0] for s in shares}
    assert set(shown) == {(p, _pseudonym(m)) for p, by in used.items() for m in by}
    for pool in POOLS:
        quantities = used[pool.name]
        total = sum(quantities.values())
        cents = 0.0
        for member, quantity in quantities.items():
            row = shown[(pool.name, _pseudonym(member))]
            exact = pool.total_cents * quantity / total
            share_cents = _number(row["share (EUR)"]) * 100
            # Largest remainder: each gets the whole cents of their exact share, or one more.
            assert math.floor(exact) - 1e-6 <= share_cents <= math.floor(exact) + 1 + 1e-6
            cents += share_cents
            assert math.isclose(_number(row["quantity"]), quantity)
            assert row["pool (EUR)"] == pool.total_cents / 100
            assert (row["key"], row["basis"], row["month"]) == (pool.key, "entered", str(month))
        assert round(cents) == pool.total_cents


def _check_out_of_order(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (states,) = answers
    shown = {s.tags["machine"]: s.rows()[0] for s in states}
    assert {m: (row["out of order"], row["reason"]) for m, row in shown.items()} == {
        "lathe-1": (1, "fault reported"),
        "mill-1": (0, ""),
        "laser-1": (0, ""),
    }


def _check_service_due(answers: list[list[Series]], seeded: SeededWeek) -> None:
    (due,) = answers
    shown = {s.tags["machine"]: s.rows()[0] for s in due}
    assert {m: row["tasks due"] for m, row in shown.items()} == {
        "lathe-1": 0,
        "mill-1": 1,
        "laser-1": 0,
    }
    # The latest look whole: a count it left out is empty, not the earlier look's number.
    assert {m: (row["hours to service"], row["days to service"]) for m, row in shown.items()} == {
        "lathe-1": (41.5, None),
        "mill-1": (0, 3.25),
        "laser-1": (None, 12),
    }


Check = Callable[[list[list[Series]], SeededWeek], None]
EXPECTED: dict[tuple[str, str], Check] = {
    ("officina-floor-now", "State"): _check_state,
    ("officina-floor-now", "Live current"): _check_live_current,
    ("officina-floor-now", "On it now"): _check_on_it_now,
    ("officina-floor-now", "Unattributed use"): _check_unattributed,
    ("officina-floor-now", "Out of order"): _check_out_of_order,
    ("officina-floor-now", "Service due"): _check_service_due,
    ("officina-machines", "Hours per machine"): _check_hours,
    ("officina-machines", "Utilisation"): _check_utilisation,
    ("officina-machines", "Energy per machine"): _check_energy_per_bucket,
    ("officina-machines", "Top users"): _check_top_users,
    ("officina-energy", "kWh per machine"): _check_kwh_per_machine,
    ("officina-energy", "kWh per day"): _check_kwh_per_day,
    ("officina-energy", "Projected kWh for 30 days"): _check_projection,
    ("officina-energy", "Peak current"): _check_peak,
    ("officina-energy", "kWh per member"): _check_kwh_per_member,
    ("officina-energy", "Projected pool shares"): _check_projected_shares,
    ("officina-gateways", "Online"): _check_online,
    ("officina-gateways", "Spool backlog"): _check_spool_backlog,
    ("officina-gateways", "Rejected messages"): _check_rejected,
    ("officina-gateways", "Session conflicts"): _check_session_conflicts,
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


def test_rejected_messages_without_a_valid_site_show_with_every_site(seeded: SeededWeek) -> None:
    gateways = next(d for d in DASHBOARDS if d.uid == "officina-gateways")
    panel = next(p for p in gateways.panels if p.title == "Rejected messages")
    (query,) = panel_queries(
        panel, time_range=seeded.time_range, variables={**seeded.variables, "site": ALL}
    )
    shown = {(s.tags["site"], s.tags["kind"]): s.rows()[0]["rejected"] for s in seeded.run(query)}
    assert shown == week.REJECTED


def test_top_users_count_only_the_chosen_machines(seeded: SeededWeek) -> None:
    machines = next(d for d in DASHBOARDS if d.uid == "officina-machines")
    top = next(p for p in machines.panels if p.title == "Top users")
    (query,) = panel_queries(
        top, time_range=seeded.time_range, variables={**seeded.variables, "machine": "laser-1"}
    )
    assert _ranked(seeded.run(query), "hours running") == [
        (_pseudonym("giulia"), 8.0),
        (_pseudonym("sara"), 6.0),
    ]


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
