"""`officina statements …` and `officina billing …` as the treasurer types them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.billing.cli import app
from services.billing.months import Month
from services.billing.store import BillingLedger
from services.ledger import Registry, SessionBook
from tests.billing.conftest import Clock, Shop, book
from tests.billing.examples import rome

runner = CliRunner()


@pytest.fixture
def url(sqlite_url: str) -> str:
    """A ledger with two members who used the laser in October 2026."""
    ledger = BillingLedger.open(sqlite_url)
    registry = Registry(ledger.engine)
    for member in ("anna", "bruno"):
        registry.add_member(member_id=member, name=member.title(), email=f"{member}@example.org")
    shop = Shop(SessionBook(ledger.engine), registry, None, Clock(rome(2026, 11, 2)))  # type: ignore[arg-type]
    book(shop, "anna", rome(2026, 10, 5, 9), minutes=90, kwh=3)
    book(shop, "bruno", rome(2026, 10, 6, 9), minutes=30, kwh=1)
    ledger.close()
    return sqlite_url


def invoke(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--ledger", url])
    return result.exit_code, result.output


def test_a_month_is_priced_pooled_run_issued_and_exported(url: str, tmp_path: Path) -> None:
    assert (
        invoke(
            url, "billing", "tariff", "add", "--from", "2026-01-01", "--per-running-minute", "0,40"
        )[0]
        == 0
    )
    code, out = invoke(
        url, "billing", "pool", "add", "--month", "2026-10", "--name", "electricity",
        "--total", "120", "--key", "kwh",
    )  # fmt: skip
    assert code == 0, out
    code, out = invoke(url, "statements", "run", "--month", "2026-10", "--issue")
    assert code == 0, out
    assert "issued 2: 2026/0001 to 2026/0002" in out
    assert "126,00" in out  # anna: 90 min at 0.40 € + 90 € of the 120 € bill
    out_dir = tmp_path / "out"
    code, out = invoke(url, "statements", "export", "--month", "2026-10", "--to", str(out_dir))
    assert code == 0, out
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "2026-0001.json",
        "2026-0001.pdf",
        "2026-0002.json",
        "2026-0002.pdf",
        "lines-2026-10.csv",
        "register-2026-10.csv",
    ]
    code, out = invoke(
        url, "statements", "credit", "2026/0002", "--reason", "doppio", "--amount", "5"
    )
    assert (code, "credit note 2026/0003 for 2026/0002: -5,00" in out) == (0, True)


def test_a_bad_amount_is_refused_naming_the_field(url: str) -> None:
    code, out = invoke(
        url, "billing", "pool", "add", "--month", "2026-10", "--name", "rent",
        "--total", "12,345", "--key", "equal",
    )  # fmt: skip
    assert code == 2
    assert "total" in out and "more than 2 decimals" in out
    code, out = invoke(
        url,
        "billing",
        "pool",
        "add",
        "--month",
        "2026-13",
        "--name",
        "x",
        "--total",
        "1",
        "--key",
        "equal",
    )
    assert code == 2 and "2026-13" in out


def test_a_pool_csv_enters_the_good_rows_and_lists_the_bad_ones(url: str, tmp_path: Path) -> None:
    csv = tmp_path / "pools.csv"
    csv.write_text(
        "month,name,total,key,billed_quantity,remainder_key,vat\n"
        "2026-10,electricity,900.00,kwh,3000,equal,22\n"
        "2026-10,rent,abc,equal,,,\n"
        "2026-10,cleaning,100,desks,,,\n"
        "2026-10,heating,250.50,member_days,,,\n",
        encoding="utf-8",
    )
    code, out = invoke(url, "billing", "pool", "import", str(csv))
    assert code == 1
    assert "2 pools entered, 2 rows refused" in out
    assert "line 3: total: 'abc' is not a number" in out
    assert "line 4: key: 'desks' is not one of" in out
    ledger = BillingLedger.open(url)
    try:
        pools = ledger.pools(Month(2026, 10))
    finally:
        ledger.close()
    assert [(p.name, p.total_cents, p.billed_quantity, p.vat_bp) for p in pools] == [
        ("electricity", 90_000, 3_000 * 1_000_000, 2_200),
        ("heating", 25_050, None, 0),
    ]


def test_settings_with_mistakes_are_reported_all_at_once(url: str, tmp_path: Path) -> None:
    config = tmp_path / "billing.toml"
    config.write_text(
        '[billing]\ntimezone = "Europe/Atlantis"\nlocale = "fr"\n[billing.schedule]\nday = 31\n',
        encoding="utf-8",
    )
    code, out = invoke(url, "statements", "list", "--month", "2026-10", "--config", str(config))
    assert code == 2
    for field in ("timezone", "locale", "schedule.day"):
        assert f"{config}: {field}:" in " ".join(out.split())


def test_a_settings_mistake_keeps_its_brackets_and_suggests_the_key_meant(
    url: str, tmp_path: Path
) -> None:
    config = tmp_path / "billing.toml"
    config.write_text(
        '[billing]\ntimezon = "Europe/Rome"\n[billing.workshop]\naddress = ["Via Po 1", 7]\n',
        encoding="utf-8",
    )
    code, out = invoke(url, "statements", "list", "--month", "2026-10", "--config", str(config))
    shown = " ".join(out.split())
    assert code == 2
    assert f"{config}: timezon: unknown key; did you mean timezone?" in shown
    assert f"{config}: workshop.address[1]: must be text" in shown


def test_a_pool_named_with_brackets_is_listed_as_it_was_entered(url: str) -> None:
    code, out = invoke(
        url, "billing", "pool", "add", "--month", "2026-10", "--name", "luce [sala b]",
        "--total", "50", "--key", "equal",
    )  # fmt: skip
    assert code == 0 and "2026-10: luce [sala b] " in out
    code, out = invoke(url, "billing", "pool", "list", "--month", "2026-10")
    assert code == 0 and "luce [sala b]" in out
