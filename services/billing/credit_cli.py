"""`officina billing credit …`: members' credit and packs from the command line.

Top-ups recorded by staff, a waiting bank credit put on a member's credit, a member's balance
and history, the pack catalogue, packs sold, and the accountant's register of a month's credit
movements (CSV).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from contract.terminal import plain
from services.billing import formats
from services.billing.cli_ledger import ByOption, existing_ledger
from services.billing.credit_register import credit_register_csv
from services.billing.errors import BillingInputError
from services.billing.money import parse_cents, parse_vat_bp
from services.billing.months import Month, MonthWindow, zone
from services.billing.tariffs import METER_UNITS, Meter
from services.cli_options import DEFAULT_LEDGER_URL, LedgerOption

credit_app = typer.Typer(
    help="Members' credit (top-ups, balance, history) and hour/kWh packs.", no_args_is_help=True
)


def _cents(text: str, hint: str) -> int:
    """An amount in euros as cents, or a usage error naming the argument."""
    try:
        return parse_cents(text, hint)
    except BillingInputError as err:
        raise typer.BadParameter(err.reason, param_hint=hint) from err


def _money(cents: int) -> str:
    return formats.money(cents, "EUR", "it")


@credit_app.command("top-up")
def top_up(
    member: Annotated[str, typer.Argument()],
    amount: Annotated[str, typer.Argument(help="in euros, e.g. 50 or 12,50")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="why, e.g. cash at the desk")] = "",
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Record money put on a member's credit."""
    cents = _cents(amount, "amount")
    with existing_ledger(ledger) as store:
        moved = store.top_up(member, cents, by=by, note=note)
        Console().print(f"{member}: +{_money(cents)}, balance {_money(moved.balance_after_cents)}")


@credit_app.command("from-payment")
def from_payment(
    payment: Annotated[int, typer.Argument(help="a waiting payment's id")],
    member: Annotated[str, typer.Argument()],
    by: ByOption,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Put a waiting bank credit on a member's credit."""
    with existing_ledger(ledger) as store:
        moved = store.credit_to_top_up(payment, member, by=by)
        Console().print(
            f"{member}: +{_money(moved.amount_cents)}, balance {_money(moved.balance_after_cents)}"
        )


@credit_app.command("show")
def show(
    member: Annotated[str, typer.Argument()], ledger: LedgerOption = DEFAULT_LEDGER_URL
) -> None:
    """A member's balance, history and packs."""
    with existing_ledger(ledger) as store:
        table = Table(title=f"credit of {member}")
        for column in ("when", "kind", "amount", "balance", "by", "note"):
            table.add_column(column)
        for m in store.credit_movements(member):
            table.add_row(
                m.at.isoformat(timespec="minutes"),
                m.kind.value,
                _money(m.amount_cents),
                _money(m.balance_after_cents),
                plain(m.by or ""),
                plain(m.note),
            )
        Console().print(table)
        packs = Table(title=f"packs of {member}")
        for column in ("id", "pack", "left", "of", "valid until"):
            packs.add_column(column)
        for p in store.member_packs(member):
            unit = METER_UNITS[p.meter]
            packs.add_row(
                str(p.id),
                plain(p.name),
                formats.quantity(p.left, unit.base_per_unit, "it"),
                f"{formats.quantity(p.quantity, unit.base_per_unit, 'it')} {unit.symbol}",
                p.valid_until.date().isoformat(),
            )
        Console().print(packs)
        Console().print(f"balance: {_money(store.credit_balance(member))}")


@credit_app.command("pack-add")
def pack_add(
    name: Annotated[str, typer.Argument()],
    meter: Annotated[str, typer.Option("--meter", help="running_minutes or kwh")],
    quantity: Annotated[str, typer.Option("--quantity", help="hours or kWh, e.g. 10")],
    price: Annotated[str, typer.Option("--price", help="in euros, net of VAT")],
    valid_days: Annotated[int, typer.Option("--valid-days", min=1, max=3660)],
    vat: Annotated[str, typer.Option("--vat", help="VAT rate in percent")] = "0",
    machine: Annotated[str | None, typer.Option("--machine", help="site/machine")] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Put a pack of running hours or kWh on sale."""
    try:
        chosen = Meter(meter)
    except ValueError as err:
        raise typer.BadParameter("running_minutes or kwh", param_hint="--meter") from err
    # Hours of running time, or kWh, into base units (ms, mWh) with the meter's own scale.
    per = 3_600_000 if chosen is Meter.RUNNING_MINUTES else METER_UNITS[chosen].base_per_unit
    base = _cents(quantity, "--quantity") * per // 100
    site, _, machine_id = (machine or "").partition("/")
    with existing_ledger(ledger) as store:
        product = store.add_pack_product(
            name=name,
            meter=chosen,
            quantity=base,
            price_cents=_cents(price, "--price"),
            vat_bp=parse_vat_bp(vat, "vat"),
            valid_days=valid_days,
            site=site or None,
            machine=machine_id or None,
        )
        Console().print(f"pack {product.id}: {product.name}")


@credit_app.command("pack-edit")
def pack_edit(
    product: Annotated[int, typer.Argument(help="the pack's id in the catalogue")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    price: Annotated[str | None, typer.Option("--price", help="in euros, net of VAT")] = None,
    valid_days: Annotated[int | None, typer.Option("--valid-days", min=1, max=3660)] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Change a pack's name, price or validity; packs already sold keep their terms."""
    if name is None and price is None and valid_days is None:
        raise typer.BadParameter("give --name, --price or --valid-days", param_hint="--price")
    cents = None if price is None else _cents(price, "--price")
    with existing_ledger(ledger) as store:
        changed = store.edit_pack_product(
            product, name=name, price_cents=cents, valid_days=valid_days
        )
        Console().print(
            f"pack {changed.id}: {changed.name}, {_money(changed.price_cents)},"
            f" {changed.valid_days} days"
        )


@credit_app.command("pack-retire")
def pack_retire(
    product: Annotated[int, typer.Argument(help="the pack's id in the catalogue")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Take a pack off sale; packs already sold are untouched."""
    with existing_ledger(ledger) as store:
        retired = store.retire_pack_product(product)
        Console().print(f"pack {retired.id}: {retired.name} retired from sale")


@credit_app.command("pack-sell")
def pack_sell(
    member: Annotated[str, typer.Argument()],
    product: Annotated[int, typer.Argument(help="the pack's id in the catalogue")],
    by: ByOption,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Sell a pack to a member now (invoiced on this month's statement)."""
    with existing_ledger(ledger) as store:
        pack = store.buy_pack(member, product, by=by)
        Console().print(f"{member}: pack {pack.id} ({pack.name}) until {pack.valid_until:%Y-%m-%d}")


@credit_app.command("register")
def register(
    month: Annotated[str, typer.Option("--month", help="the month, YYYY-MM")],
    language: Annotated[str, typer.Option("--language", help="it or en")] = "it",
    timezone: Annotated[str, typer.Option("--timezone")] = "Europe/Rome",
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Print the accountant's register of a month's credit movements (CSV)."""
    try:
        which = Month.parse(month)
        tz = zone(timezone)
    except BillingInputError as err:
        raise typer.BadParameter(err.reason, param_hint=f"--{err.field}") from err
    window = MonthWindow(which, tz)
    with existing_ledger(ledger) as store:
        movements = store.credit_movements_between(window.start, window.end)
        typer.echo(credit_register_csv(movements, tz, language), nl=False)
