"""This month's pools split over the usage so far, written to a real InfluxDB under pseudonyms."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.influxdb import InfluxDatabase, Series
from services.billing.allocation import AllocationKey, CostPool
from services.billing.cli import app
from services.billing.months import Month
from services.billing.projection import (
    POOL_PROJECTION,
    Basis,
    PoolProjector,
    ProjectionReport,
)
from services.billing.scheduler import StatementScheduler
from services.billing.usage import epoch_ms
from services.influx import InfluxClient, InfluxSettings
from services.ledger import member_pseudonym
from tests.billing.conftest import Shop, book, join
from tests.billing.examples import rome
from tests.waiting import eventually

KEY = "pseudonym key of the billing tests, 32+ bytes"
NOVEMBER = Month(2026, 11)
NOW = rome(2026, 11, 11)  # ten of November's thirty days gone
GIULIA, MARCO = (member_pseudonym(m, KEY) for m in ("giulia", "marco"))


def _project(shop: Shop, influx_db: InfluxDatabase, month: Month | None = None) -> ProjectionReport:
    shop.clock.now = NOW
    settings = InfluxSettings(url=influx_db.url, database=influx_db.database)
    with InfluxClient(settings) as client:
        projector = PoolProjector(shop.billing, client, pseudonym_key=KEY, clock=shop.clock)
        return projector.project(month)


def _points(influx_db: InfluxDatabase) -> dict[tuple[str, str], dict[str, object]]:
    """Every projected point by (pool, user)."""
    series: list[Series] = influx_db.query(
        f'SELECT * FROM "{POOL_PROJECTION}" GROUP BY "pool", "user"'
    )
    points = {}
    for one in series:
        [row] = one.rows()
        points[(one.tags["pool"], one.tags["user"])] = row
    return points


def _usage_before_and_after_now(shop: Shop) -> None:
    join(shop, "giulia")
    join(shop, "marco")
    book(shop, "giulia", rome(2026, 11, 3, 10), minutes=60, kwh=60)
    book(shop, "marco", rome(2026, 11, 5, 10), minutes=30, kwh=20)
    book(shop, "giulia", rome(2026, 11, 20, 10), minutes=90, kwh=100)  # after now: not counted
    book(shop, "marco", rome(2026, 10, 20, 10), minutes=90, kwh=100)  # last month: not counted


def test_the_months_pools_are_split_over_the_usage_so_far(
    shop: Shop, influx_db: InfluxDatabase
) -> None:
    _usage_before_and_after_now(shop)
    ledger = shop.billing.ledger
    ledger.add_pool(NOVEMBER, CostPool(name="Luce", total_cents=10_000, key=AllocationKey.KWH))
    ledger.add_pool(NOVEMBER, CostPool(name="Affitto", total_cents=30_001, key=AllocationKey.EQUAL))

    report = _project(shop, influx_db)

    assert report.projection.month == NOVEMBER and report.projection.basis is Basis.ENTERED
    assert report.points == 4
    points = _points(influx_db)
    shares = {key: point["share_eur"] for key, point in points.items()}
    assert shares == {
        ("Luce", GIULIA): 75.0,
        ("Luce", MARCO): 25.0,
        ("Affitto", GIULIA): 150.01,  # the odd cent to the lower member id
        ("Affitto", MARCO): 150.0,
    }
    assert points[("Luce", GIULIA)] == {
        "time": epoch_ms(NOW),
        "share_eur": 75.0,
        "pool_eur": 100.0,
        "quantity": 60.0,
        "key": "kwh",
        "basis": "entered",
        "month": "2026-11",
    }
    assert points[("Affitto", MARCO)]["quantity"] == 1.0
    [users] = influx_db.query(f'SHOW TAG VALUES FROM "{POOL_PROJECTION}" WITH KEY = "user"')
    assert "giulia" not in str(users.rows()) and "marco" not in str(users.rows())


def test_before_any_pool_is_entered_last_months_pools_are_the_estimate(
    shop: Shop, influx_db: InfluxDatabase
) -> None:
    _usage_before_and_after_now(shop)
    october = NOVEMBER.previous()
    shop.billing.ledger.add_pool(
        october, CostPool(name="Luce", total_cents=8_000, key=AllocationKey.KWH)
    )

    report = _project(shop, influx_db)

    assert report.projection.basis is Basis.LAST_MONTH
    points = _points(influx_db)
    assert {key: p["share_eur"] for key, p in points.items()} == {
        ("Luce", GIULIA): 60.0,
        ("Luce", MARCO): 20.0,
    }
    assert {p["basis"] for p in points.values()} == {"last_month"}
    assert {p["month"] for p in points.values()} == {"2026-11"}


def test_without_usage_no_usage_based_share_is_projected(
    shop: Shop, influx_db: InfluxDatabase
) -> None:
    join(shop, "giulia")
    ledger = shop.billing.ledger
    ledger.add_pool(NOVEMBER, CostPool(name="Luce", total_cents=10_000, key=AllocationKey.KWH))
    ledger.add_pool(NOVEMBER, CostPool(name="Affitto", total_cents=5_000, key=AllocationKey.EQUAL))

    report = _project(shop, influx_db)

    assert report.projection.stuck == ("Luce",)
    assert {key: p["share_eur"] for key, p in _points(influx_db).items()} == {
        ("Affitto", GIULIA): 50.0
    }


def test_a_month_without_pools_or_members_writes_nothing(
    shop: Shop, influx_db: InfluxDatabase
) -> None:
    shop.billing.ledger.add_pool(
        NOVEMBER, CostPool(name="Affitto", total_cents=5_000, key=AllocationKey.EQUAL)
    )
    report = _project(shop, influx_db)
    assert (report.points, report.projection.stuck) == (0, ("Affitto",))

    empty = _project(shop, influx_db, Month(2026, 9))
    assert (empty.points, empty.projection.basis) == (0, None)
    assert influx_db.query(f'SELECT * FROM "{POOL_PROJECTION}"') == []


def test_a_metered_bill_counts_only_the_part_of_the_month_gone_by(
    shop: Shop, influx_db: InfluxDatabase
) -> None:
    _usage_before_and_after_now(shop)
    pool = CostPool(
        name="Luce",
        total_cents=10_000,
        key=AllocationKey.KWH,
        billed_quantity=300 * 1_000_000,  # the bill's 300 kWh for the whole month
        remainder_key=AllocationKey.EQUAL,
    )
    shop.billing.ledger.add_pool(NOVEMBER, pool)

    _project(shop, influx_db)

    # A third of the month gone: 100 of the bill's kWh so far, 80 of them metered to members
    # (80 € split 3:1), the other 20 € by the equal remainder key.
    assert {key: p["share_eur"] for key, p in _points(influx_db).items()} == {
        ("Luce", GIULIA): 70.0,
        ("Luce", MARCO): 30.0,
    }


def test_a_pool_whose_name_cannot_be_a_tag_is_left_out_and_the_others_written(
    shop: Shop, influx_db: InfluxDatabase
) -> None:
    _usage_before_and_after_now(shop)
    ledger = shop.billing.ledger
    ledger.add_pool(NOVEMBER, CostPool(name="Luce\\Gas", total_cents=100, key=AllocationKey.KWH))
    ledger.add_pool(NOVEMBER, CostPool(name="Affitto", total_cents=200, key=AllocationKey.EQUAL))

    report = _project(shop, influx_db)

    assert report.refused_pools == ("Luce\\Gas",)
    assert {pool for pool, _ in _points(influx_db)} == {"Affitto"}


def test_the_statement_scheduler_projects_at_start_and_then_every_interval(
    shop: Shop, influx_db: InfluxDatabase, tmp_path: Path
) -> None:
    _usage_before_and_after_now(shop)
    shop.billing.ledger.add_pool(
        NOVEMBER, CostPool(name="Luce", total_cents=10_000, key=AllocationKey.KWH)
    )
    began = time.monotonic()

    def clock() -> datetime:
        """November the 11th, as the real clock moves on."""
        return NOW + timedelta(seconds=time.monotonic() - began)

    def projected_at() -> list[object]:
        found = influx_db.query(f'SELECT "share_eur" FROM "{POOL_PROJECTION}" GROUP BY "user"')
        return [row["time"] for row in found[0].rows()] if found else []

    stop = threading.Event()
    settings = InfluxSettings(url=influx_db.url, database=influx_db.database)
    with InfluxClient(settings) as client:
        projector = PoolProjector(shop.billing, client, pseudonym_key=KEY, every_s=1.0, clock=clock)
        scheduler = StatementScheduler(shop.billing, projector=projector, clock=clock)
        heartbeat = tmp_path / "scheduler.alive"
        running = threading.Thread(
            target=scheduler.run, args=(stop,), kwargs={"heartbeat": heartbeat}
        )
        running.start()
        try:
            eventually(lambda: len(projected_at()) >= 2, what="a second projection")
        finally:
            stop.set()
            running.join()

    assert heartbeat.exists(), "the scheduler never touched its heartbeat"
    first, second = projected_at()[:2]
    assert isinstance(first, int) and isinstance(second, int)
    assert epoch_ms(NOW) <= first and second - first >= 1000


runner = CliRunner()


def test_billing_project_writes_the_shares_and_names_a_missing_key(
    sqlite_url: str, influx_db: InfluxDatabase
) -> None:
    base = ["billing", "project", "--ledger", sqlite_url, "--month", "2026-11"]
    influx = ["--influx-url", influx_db.url, "--influx-db", influx_db.database]
    refused = runner.invoke(app, [*base, *influx], env={"COLUMNS": "200"})
    assert refused.exit_code == 2 and "--pseudonym-key" in refused.output

    pool = ["--month", "2026-11", "--name", "Affitto", "--total", "90", "--key", "equal"]
    assert (
        runner.invoke(app, ["billing", "pool", "add", *pool, "--ledger", sqlite_url]).exit_code == 0
    )
    written = runner.invoke(app, [*base, *influx, "--pseudonym-key", KEY], env={"COLUMNS": "200"})

    assert written.exit_code == 0, written.output
    # Nobody is a member yet: the equal split has nobody to share among.
    assert "Affitto: nothing to split it by yet" in written.output
    assert "0 pool shares written to InfluxDB" in written.output


@pytest.mark.parametrize("key", ["short", "changethis"])
def test_billing_project_refuses_a_weak_key(sqlite_url: str, key: str) -> None:
    arguments = ["billing", "project", "--ledger", sqlite_url, "--influx-url", "http://127.0.0.1:9"]
    result = runner.invoke(app, [*arguments, "--pseudonym-key", key], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "pseudonym_key" in result.output
