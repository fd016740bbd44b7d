"""Dashboard figures, one JSON line: every panel query over 30 days of 50 machines on InfluxDB.

Run from the repository root: `python bench/dashboards.py [--days N] [--machines N] [--repeats N]`.

A fresh influxd (the harness's, on a free loopback port, in a temp dir) gets the retention
policies ingest sets up, then line protocol written straight over the v1 API (faster than
through ingest, and what ingest would have written): raw `telemetry` at one sample a minute and
`machine_state` changes, plus the 1-minute rollups `telemetry_1m` and `telemetry_states_1m`,
one point per machine and minute, as the continuous queries make them. Each panel's queries,
expanded for a 30-day range and every site and machine selected, run `--repeats` times; the
slowest and the median wall time per panel are reported (the goal: slowest ≤ 1 s).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# Run as a script, this file's folder comes first on the path, and this file is named like the
# package it measures: put the repository root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import httpx  # noqa: E402

from dashboards import DASHBOARDS  # noqa: E402
from dashboards.expand import TimeRange, panel_queries  # noqa: E402
from dashboards.grafana_json import ALL  # noqa: E402
from services.ingest import InfluxClient, InfluxSettings  # noqa: E402
from services.ingest.influx_setup import apply as setup_influx  # noqa: E402
from tests.harness.influxdb import start_influxdb  # noqa: E402

log = logging.getLogger("bench.dashboards")

MINUTE_MS = 60_000
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


def _lines(start_ms: int, days: int, machines: int) -> Iterator[tuple[str, str]]:
    """(retention policy, line) for every point of every machine, minute by minute."""
    for number in range(machines):
        tags = f"machine=m-{number:03d},site=site-{number % 5}"
        wh, previous = 0.0, ""
        for seq, minute in enumerate(range(days * DAY_MINUTES), start=1):
            ts = start_ms + minute * MINUTE_MS
            state, amps = _state_at(minute % DAY_MINUTES, number)
            watts = amps * 230.0
            wh += watts / 60
            yield (
                "raw_90d",
                f"telemetry,{tags} amps={amps!r},volts=230.0,watts={watts!r},wh={wh!r},"
                f'state="{state}",seq={seq}i {ts}',
            )
            if state != previous:
                yield "raw_90d", f'machine_state,{tags} state="{state}" {ts}'
                previous = state
            yield (
                "rollups",
                f"telemetry_1m,{tags} amps={amps!r},amps_max={amps!r},volts=230.0,"
                f"watts={watts!r},wh={wh!r},samples=1i {ts}",
            )
            yield "rollups", f"telemetry_states_1m,{tags} {state}=1i {ts}"


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

        for policy, line in _lines(start_ms, days, machines):
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
                "slowest_s": max(p["max_s"] for p in panels.values()),
                "panels": panels,
            }
        )
    )


if __name__ == "__main__":
    main()
