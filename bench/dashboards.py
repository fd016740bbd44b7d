"""Dashboard figures, one JSON line: every panel query over 30 days of 50 machines on InfluxDB.

Run from the repository root: `python -m bench.dashboards [--days N] [--machines N] [--repeats N]`.

A fresh influxd (the harness's, on a free loopback port, in a temp dir) gets the retention
policies ingest sets up, then line protocol written straight over the v1 API (faster than
through ingest, and what ingest would have written): raw `telemetry` at one sample a minute
(the last hour at 1 Hz, as the live panels see it) and `machine_state` changes, plus the
rollups as the continuous queries make them: `telemetry_1m` and `telemetry_states_1m`, one
point per machine and minute, `unattributed_1m` for the minutes of current on a locked machine,
and `telemetry_1h` and `telemetry_states_1h`, one point per machine and hour; `gateway_status`
once a minute from each gateway (one per five machines, always on, its spool rising through an
outage each day) and a few `rejected` messages an hour per site; each machine's daily run as
a `session` of one of 60 members (by pseudonym), and billing's latest `pool_projection` of
three pools among them. Each panel's queries, expanded for a 30-day range and every site and
machine selected, run `--repeats` times; the slowest and the median wall time per panel are
reported (the goal: slowest ≤ 1 s), with the load average before and after.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from dashboards import DASHBOARDS
from dashboards.expand import TimeRange, panel_queries
from dashboards.grafana_json import ALL
from dashboards.rollups import UNATTRIBUTED_THRESHOLDS
from harness.influxdb import start_influxdb
from services.influx import InfluxClient, InfluxSettings
from services.influx.setup import apply as setup_influx
from services.ledger import member_pseudonym

log = logging.getLogger("bench.dashboards")

MINUTE_MS = 60_000
HOUR_MINUTES = 60
DAY_MINUTES = 1440
BATCH = 5_000
DATABASE = "officina"
STATES = ("locked", "running", "idle", "unlocked")


def _state_at(minute_of_day: int, machine: int) -> tuple[str, float]:
    # Working hours 08–18 with a two-hour run, shifted per machine so the floor is never in step.
    m = (minute_of_day - 480 - (machine * 7) % 120) % DAY_MINUTES
    if 60 <= m < 180:
        return "running", 6.0 + machine % 5
    if 180 <= m < 240:
        return "idle", 1.5
    if 240 <= m < 300:
        return "unlocked", 0.0
    if 300 <= m < 310:
        return "locked", 2.5
    return "locked", 0.0


class _Hour:
    """One machine's hour as the hourly rollup sums it up from the minutes."""

    def __init__(self, ts: int) -> None:
        self.ts = ts
        self.energy_wh = self.amps_max = 0.0
        self.samples = 0
        self.seq_min = self.seq_max = -1
        self.states: dict[str, int] = {}

    def add(self, state: str, amps: float, watts: float, seq_min: int, seq_max: int) -> None:
        self.states[state] = self.states.get(state, 0) + seq_max - seq_min + 1
        self.energy_wh += watts / 60
        self.amps_max = max(self.amps_max, amps)
        self.samples += seq_max - seq_min + 1
        self.seq_min = seq_min if self.seq_min < 0 else self.seq_min
        self.seq_max = seq_max

    def lines(self, tags: str) -> Iterator[tuple[str, str]]:
        yield (
            "rollups",
            f"telemetry_1h,{tags} energy_wh={self.energy_wh!r},amps_max={self.amps_max!r},"
            f"samples={self.samples}i,seq_min={self.seq_min}i,seq_max={self.seq_max}i {self.ts}",
        )
        states = ",".join(f"{state}={count}i" for state, count in self.states.items())
        yield "rollups", f"telemetry_states_1h,{tags} {states} {self.ts}"


def _lines(start_ms: int, days: int, machines: int) -> Iterator[tuple[str, str]]:
    """(retention policy, line) for every point of every machine, minute by minute."""
    hour_ms = HOUR_MINUTES * MINUTE_MS
    minutes = days * DAY_MINUTES
    for number in range(machines):
        tags = f"machine=m-{number:03d},site=site-{number % 5}"
        wh, previous, seq = 0.0, "", 0
        hour = _Hour(start_ms // hour_ms * hour_ms)
        for minute in range(minutes):
            ts = start_ms + minute * MINUTE_MS
            if ts - hour.ts >= hour_ms:
                yield from hour.lines(tags)
                hour = _Hour(ts // hour_ms * hour_ms)
            state, amps = _state_at(minute % DAY_MINUTES, number)
            watts = amps * 230.0
            # The last hour at 1 Hz, as gateways send: what the live panels read.
            samples = 60 if minute >= minutes - HOUR_MINUTES else 1
            for second in range(samples):
                seq += 1
                wh += watts / 60 / samples
                yield (
                    "raw_90d",
                    f"telemetry,{tags} amps={amps!r},volts=230.0,watts={watts!r},wh={wh!r},"
                    f'state="{state}",seq={seq}i {ts + second * 60_000 // samples}',
                )
            first = seq - samples + 1
            hour.add(state, amps, watts, first, seq)
            if state != previous:
                yield "raw_90d", f'machine_state,{tags} state="{state}" {ts}'
                previous = state
            yield (
                "rollups",
                f"telemetry_1m,{tags} amps={amps!r},amps_max={amps!r},volts=230.0,"
                f"watts={watts!r},wh={wh!r},samples={samples}i,"
                f"seq_min={first}i,seq_max={seq}i {ts}",
            )
            yield "rollups", f"telemetry_states_1m,{tags} {state}={samples}i {ts}"
            over = [t for t in UNATTRIBUTED_THRESHOLDS if state == "locked" and amps >= float(t)]
            if over:
                fields = ",".join(f"over_{t}={samples}i" for t in over)
                yield "rollups", f"unattributed_1m,{tags} {fields} {ts}"
        yield from hour.lines(tags)


GATEWAY_MACHINES = 5
KINDS = ("telemetry", "status", "sessions", "unknown")


def _gateway_lines(start_ms: int, days: int, machines: int) -> Iterator[tuple[str, str]]:
    """A status a minute from every gateway, and a few rejected messages an hour per site."""
    minutes = days * DAY_MINUTES
    gateways = -(-machines // GATEWAY_MACHINES)
    for number in range(gateways):
        tags = f"gateway=gw-{number:03d},site=site-{number % 5}"
        for minute in range(minutes):
            # A daily half-hour outage (shifted per gateway) piles up a backlog that then drains.
            m = (minute - number * 37) % DAY_MINUTES
            spool = 40 * m if m < 30 else max(0, 1200 - 80 * (m - 30))
            oldest = f",spool_oldest_s={float(m * 60)!r}" if spool else ""
            yield (
                "raw_90d",
                f'gateway_status,{tags} status="online",online=1.0,'
                f"machines={float(GATEWAY_MACHINES)!r},spool={float(spool)!r}{oldest} "
                f"{start_ms + minute * MINUTE_MS}",
            )
    for hour in range(minutes // HOUR_MINUTES):
        for site in range(min(5, machines)):
            for n, kind in enumerate(KINDS[: 1 + (hour + site) % len(KINDS)]):
                ts = start_ms + hour * HOUR_MINUTES * MINUTE_MS + n * 1000 + site
                yield "raw_90d", f"rejected,kind={kind},site=site-{site} count=1.0 {ts}"


MEMBERS = 60
PSEUDONYM_KEY = "the bench's pseudonym key, as long as a real one"
POOLS = ("electricity", "rent", "maintenance")


def _usage_lines(start_ms: int, days: int, machines: int) -> Iterator[tuple[str, str]]:
    """Each machine's daily run as a member's session, and the latest pool projection."""
    users = [member_pseudonym(f"member-{n}", PSEUDONYM_KEY) for n in range(MEMBERS)]
    for number in range(machines):
        tags = f"machine=m-{number:03d},site=site-{number % 5}"
        # When `_state_at` starts the machine's two-hour run, with its current.
        begins = 480 + (number * 7) % 120 + 60
        energy_wh = (120 * (6.0 + number % 5) + 60 * 1.5) * 230.0 / 60
        for day in range(days):
            ts = start_ms + (day * DAY_MINUTES + begins) * MINUTE_MS
            yield (
                "raw_90d",
                f"session,{tags},user={users[(number * 7 + day) % MEMBERS]} running_s=7200.0,"
                f"unlocked_s=14400.0,idle_s=3600.0,energy_wh={energy_wh!r} {ts}",
            )
    at_ms = start_ms + (days * DAY_MINUTES - 30) * MINUTE_MS
    for pool in POOLS:
        for number, user in enumerate(users):
            yield (
                "raw_90d",
                f"pool_projection,pool={pool},user={user} share_eur={10.0 + number!r},"
                f'pool_eur=1000.0,quantity=1.0,key="equal",basis="entered",month="2026-11" '
                f"{at_ms}",
            )


def _seed(url: str, start_ms: int, days: int, machines: int) -> int:
    batches: dict[str, list[str]] = {"raw_90d": [], "rollups": []}
    written = 0
    with httpx.Client(base_url=url, timeout=60) as client:

        def send(policy: str) -> None:
            body = gzip.compress("\n".join(batches[policy]).encode(), compresslevel=1)
            response = client.post(
                "/write",
                params={"db": DATABASE, "rp": policy, "precision": "ms"},
                content=body,
                headers={"Content-Encoding": "gzip"},
            )
            response.raise_for_status()
            batches[policy].clear()

        points = itertools.chain(
            _lines(start_ms, days, machines),
            _gateway_lines(start_ms, days, machines),
            _usage_lines(start_ms, days, machines),
        )
        for policy, line in points:
            batches[policy].append(line)
            written += 1
            if len(batches[policy]) >= BATCH:
                send(policy)
        for policy in batches:
            if batches[policy]:
                send(policy)
    return written


def main() -> None:
    """Seed, run every panel, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    end_ms = int(time.time() * 1000) // MINUTE_MS * MINUTE_MS
    start_ms = end_ms - args.days * DAY_MINUTES * MINUTE_MS
    with tempfile.TemporaryDirectory(prefix="bench-dashboards-") as scratch:
        server = start_influxdb(workdir=Path(scratch), database=DATABASE)
        try:
            with InfluxClient(InfluxSettings(url=server.url, database=DATABASE)) as client:
                setup_influx(client)
            began = time.perf_counter()
            points = _seed(server.url, start_ms, args.days, args.machines)
            seed_s = time.perf_counter() - began
            log.info("seeded %d points in %.1f s", points, seed_s)
            time_range = TimeRange(start_ms, end_ms - 1)
            load_before = os.getloadavg()[0]
            # Every site and machine selected: Grafana's "All", which the dashboards send as `.*`.
            variables: dict[str, str | list[str]] = {
                "site": ALL,
                "machine": ALL,
                "sample_s": "60",
                "unattributed_amps": "0.5",
                "bucket": "1d",
            }
            panels = {}
            for dashboard in DASHBOARDS:
                for panel in dashboard.panels:
                    queries = panel_queries(panel, time_range=time_range, variables=variables)
                    times = []
                    for _ in range(args.repeats):
                        began = time.perf_counter()
                        rows = 0
                        for query in queries:
                            for series in server.query(query, database=DATABASE):
                                rows += len(series.values)
                        times.append(time.perf_counter() - began)
                    if rows == 0:
                        raise SystemExit(f"{dashboard.uid} / {panel.title}: no data")
                    panels[f"{dashboard.uid}:{panel.title}"] = {
                        "median_s": round(statistics.median(times), 4),
                        "max_s": round(max(times), 4),
                        "rows": rows,
                    }
                    log.info("%s / %s: max %.3f s", dashboard.uid, panel.title, max(times))
        finally:
            server.stop()
    print(
        json.dumps(
            {
                "benchmark": "dashboards",
                "days": args.days,
                "machines": args.machines,
                "points": points,
                "seed_s": round(seed_s, 1),
                "python": platform.python_version(),
                "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "slowest_s": max(p["max_s"] for p in panels.values()),
                "panels": panels,
            }
        )
    )


if __name__ == "__main__":
    main()
