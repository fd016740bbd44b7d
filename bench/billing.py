"""Billing figures, one JSON line: a month of 300,000 sessions billed on the real ledger.

Run from the repository root: `python -m bench.billing [--sessions N] [--postgres] [--jobs J]`.

Seeds a fresh ledger (a SQLite file in a temp dir, or a throw-away database on the local
PostgreSQL with `--postgres`) with 500 members, 60 machines with their tariffs (per running
minute, per unlocked minute, per kWh, a minimum on some, 22 % VAT), three plans with fees,
five cost pools (kWh with an unmetered remainder, desks, running hours of ten machines, equal,
days of membership) and 300,000 sessions inside October 2026. Then times:

1. computing every statement: reading the month from the ledger and `bill_month` (goal ≤ 3 s);
2. saving them as drafts (every session line stored) and loading them back;
3. rendering every statement as a PDF, in one process and in `--jobs` processes (goal ≤ 60 s
   for computing plus PDFs);
4. the reference: one plain SQL GROUP BY over the same sessions and tariffs computing each
   member's direct charges, with the same rounding and minimum; its totals must equal the
   engine's to the cent, and the ratio engine / SQL is reported.

Peak memory is this process's maximum RSS (goal ≤ 1 GB); PDF workers are counted apart.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import resource
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql as pgsql
from sqlalchemy import Engine, insert, text

from services.billing.allocation import AllocationKey, CostPool
from services.billing.engine import MonthStatements, bill_month
from services.billing.models import (
    CostPoolMachineRow,
    CostPoolRow,
    MemberPlanRow,
    PlanRow,
    TariffRow,
    WeightRow,
)
from services.billing.months import Month, MonthWindow, zone
from services.billing.pdf import statement_pdf
from services.billing.records import StoredStatement
from services.billing.settings import Workshop
from services.billing.store import BillingLedger
from services.ledger.models import MemberRow, SessionRow

MONTH = Month(2026, 10)
TZ = zone("Europe/Rome")
SITE = "officina-bench"
WORKSHOP = Workshop(name="Officina Comune", address=("Via dei Mille 1", "00100 Roma"))
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def machine_facts() -> dict[str, object]:
    """What the figures were measured on."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Maximum resident set size so far, in MB (Linux reports KB)."""
    return resource.getrusage(who).ru_maxrss / 1024


@contextmanager
def ledger_url(postgres: bool) -> Iterator[str]:
    """A fresh, empty ledger: a SQLite file, or a new database on the local PostgreSQL."""
    if not postgres:
        with tempfile.TemporaryDirectory(prefix="billing-bench-") as workdir:
            yield f"sqlite:///{workdir}/ledger.sqlite3"
        return
    name = f"bench_{secrets.token_hex(4)}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            connection.execute(pgsql.SQL("DROP DATABASE {}").format(pgsql.Identifier(name)))


def seed(engine: Engine, *, members: int, machines: int, sessions: int, seed: int) -> None:
    """The registry, tariffs, plans, pools and a month of sessions, inserted directly."""
    rng = random.Random(seed)
    member_ids = [f"member-{n:04d}" for n in range(members)]
    machine_ids = [f"machine-{n:02d}" for n in range(machines)]
    window = MonthWindow(MONTH, TZ)
    with engine.begin() as connection:
        connection.execute(
            insert(MemberRow),
            [
                {
                    "id": member,
                    "name": f"Socio {n}",
                    "email": f"{member}@example.org",
                    # One in ten joined during October.
                    "joined_at": window.start + timedelta(days=rng.randrange(1, 30))
                    if n % 10 == 0
                    else datetime(2025, 1, 1, tzinfo=UTC),
                }
                for n, member in enumerate(member_ids)
            ],
        )
        connection.execute(
            insert(TariffRow),
            [
                {
                    "site": SITE,
                    "machine": machine,
                    "plan": "",
                    "valid_from": date(2026, 1, 1),
                    "per_running_minute_micros": rng.randrange(50_000, 800_000),
                    "per_unlocked_minute_micros": rng.choice((0, 0, 20_000)),
                    "per_kwh_micros": rng.choice((0, 250_000, 333_333)),
                    "minimum_cents": rng.choice((0, 0, 100, 250)),
                    "vat_bp": 2200,
                    "created_at": NOW,
                }
                for machine in machine_ids
            ],
        )
        plans = {"base": 1_500, "maker": 3_000, "pro": 6_000}
        connection.execute(
            insert(PlanRow),
            [
                {"name": name, "monthly_fee_cents": fee, "vat_bp": 2200}
                for name, fee in plans.items()
            ],
        )
        connection.execute(
            insert(MemberPlanRow),
            [
                {"member": member, "valid_from": date(2025, 1, 1), "plan": rng.choice(list(plans))}
                for member in member_ids
            ],
        )
        connection.execute(
            insert(WeightRow),
            [
                {
                    "weight_set": "desks",
                    "member": member,
                    "weight_milli": rng.choice((0, 1000, 2000)),
                }
                for member in member_ids
            ],
        )
        pools = [
            CostPool(
                name="electricity",
                total_cents=1_234_567,
                key=AllocationKey.KWH,
                billed_quantity=400_000 * 1_000_000,
                remainder_key=AllocationKey.EQUAL,
                vat_bp=2200,
            ),
            CostPool(
                name="rent", total_cents=900_000, key=AllocationKey.WEIGHTS, weight_set="desks"
            ),
            CostPool(
                name="maintenance",
                total_cents=150_001,
                key=AllocationKey.RUNNING_HOURS,
                machines=tuple((SITE, machine) for machine in machine_ids[:10]),
            ),
            CostPool(name="consumables", total_cents=77_777, key=AllocationKey.EQUAL, vat_bp=2200),
            CostPool(name="heating", total_cents=250_000, key=AllocationKey.MEMBER_DAYS),
        ]
        for pool in pools:
            pool_id = connection.execute(
                insert(CostPoolRow)
                .values(
                    month=str(MONTH),
                    name=pool.name,
                    total_cents=pool.total_cents,
                    key=pool.key.value,
                    weight_set=pool.weight_set,
                    billed_quantity=pool.billed_quantity,
                    remainder_key=pool.remainder_key.value if pool.remainder_key else None,
                    vat_bp=pool.vat_bp,
                    source="bench",
                    created_at=NOW,
                )
                .returning(CostPoolRow.id)
            ).scalar_one()
            if pool.machines:
                connection.execute(
                    insert(CostPoolMachineRow),
                    [{"pool_id": pool_id, "site": s, "machine": m} for s, m in pool.machines],
                )
    activity = [rng.uniform(0.5, 1.5) for _ in member_ids]
    span_s = (window.end - window.start).total_seconds() - 5 * 3600
    batch: list[dict[str, object]] = []
    for _ in range(sessions):
        member = rng.choices(member_ids, weights=activity)[0]
        unlocked_ms = rng.randrange(60_000, 4 * 3_600_000)
        running_ms = int(unlocked_ms * rng.uniform(0.2, 0.95))
        started = window.start + timedelta(seconds=rng.uniform(0, span_s))
        batch.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "site": SITE,
                "machine": rng.choice(machine_ids),
                "member": member,
                "card_hash": "0" * 64,
                "started": started,
                "ended": started + timedelta(milliseconds=unlocked_ms),
                "unlocked_s": unlocked_ms / 1000,
                "running_s": running_ms / 1000,
                "idle_s": (unlocked_ms - running_ms) / 1000,
                "energy_wh": rng.randrange(0, 8_000_000) / 1000,
                "end_reason": "badge_out",
                "clock_ok": True,
                "received_at": NOW,
                "deliveries": 1,
            }
        )
        if len(batch) == 20_000:
            with engine.begin() as connection:
                connection.execute(insert(SessionRow), batch)
            batch = []
    if batch:
        with engine.begin() as connection:
            connection.execute(insert(SessionRow), batch)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def group_by_reference(engine: Engine) -> tuple[float, dict[str, int]]:
    """Each member's direct charges by one SQL GROUP BY: same prices, rounding and minimum."""
    window = MonthWindow(MONTH, TZ)
    bigger = "MAX" if engine.dialect.name == "sqlite" else "GREATEST"
    # Exact amount over 3e10 per cent (see charges.py), rounded half up, then the minimum.
    query = text(
        f"""
        SELECT s.member, SUM({bigger}(t.minimum_cents, (2 * (
                  t.per_running_minute_micros * CAST(ROUND(s.running_s * 1000) AS BIGINT) * 50
                + t.per_unlocked_minute_micros * CAST(ROUND(s.unlocked_s * 1000) AS BIGINT) * 50
                + t.per_kwh_micros * CAST(ROUND(s.energy_wh * 1000) AS BIGINT) * 3
               ) + 30000000000) / 60000000000))
        FROM sessions AS s
        JOIN tariffs AS t ON t.site = s.site AND t.machine = s.machine AND t.plan = ''
        WHERE s.started >= :start AND s.ended <= :end
        GROUP BY s.member
        """
    )
    start = (
        window.start if engine.dialect.name == "postgresql" else window.start.replace(tzinfo=None)
    )
    end = window.end if engine.dialect.name == "postgresql" else window.end.replace(tzinfo=None)
    began = time.perf_counter()
    with engine.connect() as connection:
        rows = connection.execute(query, {"start": start, "end": end}).all()
    seconds = time.perf_counter() - began
    return seconds, {member: int(total) for member, total in rows}


def render(statement: StoredStatement) -> int:
    """One PDF (in a worker process); returns its size."""
    return len(statement_pdf(statement, workshop=WORKSHOP, tz=TZ))


def run(args: argparse.Namespace) -> dict[str, object]:
    """Seed, bill, render, compare; the figures as a dict."""
    figures: dict[str, object] = {"machine": machine_facts(), "args": vars(args)}
    with ledger_url(args.postgres) as url:
        ledger = BillingLedger.open(url, clock=lambda: NOW)
        figures["backend"] = ledger.engine.dialect.name
        began = time.perf_counter()
        seed(
            ledger.engine,
            members=args.members,
            machines=args.machines,
            sessions=args.sessions,
            seed=args.seed,
        )
        figures["seed_s"] = round(time.perf_counter() - began, 2)
        rss_before = peak_rss_mb()

        reads, computes, cpu = [], [], []
        computed: MonthStatements | None = None
        for _ in range(args.repeat):
            computed = None  # the previous run's statements are freed here, not inside the timing
            began, began_cpu = time.perf_counter(), time.process_time()
            inputs = ledger.month_inputs(MONTH, TZ)
            read = time.perf_counter()
            computed = bill_month(inputs)
            done = time.perf_counter()
            reads.append(read - began)
            computes.append(done - read)
            # This process's CPU time: on a shared machine, what the wall clock adds is waiting.
            cpu.append(time.process_time() - began_cpu)
            del inputs
        assert computed is not None
        totals = [r + c for r, c in zip(reads, computes, strict=True)]
        figures["statements"] = len(computed.statements)
        figures["session_lines"] = sum(len(s.charges) for s in computed.statements)
        figures["read_s"] = [round(x, 3) for x in reads]
        figures["bill_s"] = [round(x, 3) for x in computes]
        figures["compute_s"] = [round(x, 3) for x in totals]
        figures["compute_cpu_s"] = [round(x, 3) for x in cpu]
        figures["rss_after_compute_mb"] = round(peak_rss_mb(), 1)

        sql_runs = [group_by_reference(ledger.engine) for _ in range(args.repeat)]
        sql_totals = sql_runs[-1][1]
        engine_totals = {s.member.id: s.direct_cents for s in computed.statements if s.charges}
        if sql_totals != engine_totals:
            wrong = [m for m in engine_totals if engine_totals[m] != sql_totals.get(m)]
            raise SystemExit(f"SQL and engine disagree for {len(wrong)} members, e.g. {wrong[:5]}")
        figures["group_by_s"] = [round(seconds, 3) for seconds, _ in sql_runs]
        best_sql = min(seconds for seconds, _ in sql_runs)
        figures["ratio_compute_to_group_by"] = round(min(totals) / best_sql, 1)
        figures["direct_cents_total"] = sum(engine_totals.values())

        began = time.perf_counter()
        saved = ledger.save_drafts(computed, locale="it", currency="EUR")
        figures["save_drafts_s"] = round(time.perf_counter() - began, 2)
        figures["drafts"] = saved.made
        del computed
        began = time.perf_counter()
        stored = ledger.statements(MONTH)
        figures["load_statements_s"] = round(time.perf_counter() - began, 2)

        pdfs = stored if args.pdfs is None else stored[: args.pdfs]
        began = time.perf_counter()
        size = sum(render(statement) for statement in pdfs)
        serial = time.perf_counter() - began
        figures["pdfs"] = len(pdfs)
        figures["pdf_bytes"] = size
        figures["pdf_serial_s"] = round(serial, 2)
        if args.jobs > 1:
            began = time.perf_counter()
            with ProcessPoolExecutor(max_workers=args.jobs) as pool:
                sum(pool.map(render, pdfs, chunksize=8))
            figures["pdf_parallel_s"] = round(time.perf_counter() - began, 2)
            figures["pdf_jobs"] = args.jobs
        figures["compute_plus_pdfs_s"] = round(
            min(totals) + min(serial, float(str(figures.get("pdf_parallel_s", serial)))), 2
        )
        figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
        figures["peak_rss_before_compute_mb"] = round(rss_before, 1)
        figures["peak_rss_pdf_workers_mb"] = round(peak_rss_mb(resource.RUSAGE_CHILDREN), 1)
        ledger.close()
    return figures


def main() -> None:
    """Parse the options, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--machines", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3, help="compute and GROUP BY runs")
    parser.add_argument("--pdfs", type=int, default=None, help="render only the first N PDFs")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--postgres", action="store_true", help="on the local PostgreSQL")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
