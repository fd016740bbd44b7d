"""Is gzip worth its CPU for ingest's InfluxDB writes? One JSON line, loopback and LAN figures.

Run from the repository root: `python -m bench.influx_body [--points N] [--rounds R]`.

A real InfluxDB 1.x on a free loopback port takes the same `--points` telemetry lines ingest
writes, in 5,000-line bodies from two writer threads (as ingest's booker), once as plain line
protocol and once gzip'd at level 1 (what `InfluxClient` sends), interleaved `--rounds` times. For
each: the writer's CPU per point to make the body (join, encode, compress), InfluxDB's CPU per
point (it decompresses too), the bytes per point on the wire and the points per second on
loopback. A LAN is not emulated (that would need the machine's network set up for it): its cost
is the body's bytes over the link, given here for 100 Mbit/s and 1 Gbit/s from the measured
sizes, to be weighed against the CPU gzip costs on both ends.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.ingest import cpu_seconds, machine, pids_of
from bench.peers import CEILING_BATCH, ceiling_lines
from harness.influxdb import InfluxServer, start_influxdb
from services.influx.client import GZIP_LEVEL

WRITERS = 2
LINKS_MBIT = {"lan_100mbit": 100, "lan_1gbit": 1000}


def bodies(lines: list[str], *, gzipped: bool) -> tuple[list[bytes], float]:
    """The 5,000-line bodies and the CPU seconds it took to make them."""
    started = time.process_time()
    made = []
    for at in range(0, len(lines), CEILING_BATCH):
        body = ("\n".join(lines[at : at + CEILING_BATCH]) + "\n").encode()
        made.append(gzip.compress(body, compresslevel=GZIP_LEVEL) if gzipped else body)
    return made, time.process_time() - started


def write(influx: InfluxServer, database: str, made: list[bytes], *, gzipped: bool) -> float:
    """POST the bodies from two writers; the seconds it took."""
    headers = {"Content-Encoding": "gzip"} if gzipped else {}

    def writer(share: list[bytes]) -> None:
        with httpx.Client(base_url=influx.url, timeout=60) as client:
            for body in share:
                client.post(
                    "/write",
                    params={"db": database, "precision": "ms"},
                    content=body,
                    headers=headers,
                ).raise_for_status()

    threads = [threading.Thread(target=writer, args=(made[w::WRITERS],)) for w in range(WRITERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    """Interleaved rounds of plain and gzip'd bodies; one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--machines", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lines = ceiling_lines(args.machines, args.points)
    workdir = Path(tempfile.mkdtemp(prefix="officina-body-"))
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "gzip": []}
    try:
        influx = start_influxdb(workdir=workdir / "influxdb", database="body")
        try:
            pids = pids_of(influx.config_path)
            for number in range(args.rounds):
                for kind in ("plain", "gzip") if number % 2 == 0 else ("gzip", "plain"):
                    gzipped = kind == "gzip"
                    database = f"body_{kind}_{number}"
                    influx.create_database(database)
                    made, encode_s = bodies(lines, gzipped=gzipped)
                    before = sum(map(cpu_seconds, pids))
                    seconds = write(influx, database, made, gzipped=gzipped)
                    influx_s = sum(map(cpu_seconds, pids)) - before
                    runs[kind].append(
                        {
                            "points_per_s": round(args.points / seconds),
                            "encode_us_per_point": round(encode_s / args.points * 1e6, 2),
                            "influxdb_us_per_point": round(influx_s / args.points * 1e6, 2),
                            "bytes_per_point": round(sum(map(len, made)) / args.points, 1),
                        }
                    )
        finally:
            influx.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    medians = {
        kind: {key: statistics.median(run[key] for run in found) for key in found[0]}
        for kind, found in runs.items()
    }
    for kind in medians:
        size = medians[kind]["bytes_per_point"]
        for link, mbit in LINKS_MBIT.items():
            # The wire alone: the most points a second the link carries.
            medians[kind][f"{link}_points_per_s_max"] = round(mbit * 1e6 / 8 / size)
    result = {"machine": machine(), "points": args.points, "runs": runs, "medians": medians}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
