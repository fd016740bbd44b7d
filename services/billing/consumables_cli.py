"""`officina billing consumables …`: the catalogue, stock and takes from the command line.

List the catalogue (or only what is low), add an item with its opening stock, count stock in,
retire an item or sell it again, and record a take for a member: billed to one of her parties if
named, and dated back into a month with no issued statement if asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from contract.terminal import plain
from services.billing import formats
from services.billing.cli_ledger import ByOption, existing_ledger
from services.billing.errors import BillingInputError
from services.billing.money import parse_cents, parse_vat_bp
from services.billing.months import zone
from services.billing.store import BillingLedger, NewItem, StoredItem
from services.cli_options import (
    DEFAULT_LEDGER_URL,
    DEFAULT_TIMEZONE,
    LedgerOption,
    TimezoneOption,
)
from services.ledger.models import MemberRow

consumables_app = typer.Typer(
    help="Consumables: the catalogue, its stock, and what members took.", no_args_is_help=True
)


def _money(cents: int) -> str:
    return formats.money(cents, "EUR", "it")


def _cents(text: str, hint: str) -> int:
    """An amount in euros as cents, or a usage error naming the option."""
    try:
        return parse_cents(text, hint)
    except BillingInputError as err:
        raise typer.BadParameter(err.reason, param_hint=hint) from err


def _vat(text: str, hint: str) -> int:
    """A VAT rate in percent as basis points, or a usage error naming the option."""
    try:
        return parse_vat_bp(text, hint)
    except BillingInputError as err:
        raise typer.BadParameter(err.reason, param_hint=hint) from err


def _moment(text: str) -> datetime:
    """A moment written in ISO 8601 (`2026-03-20T10:00`, with or without a zone)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError as err:
        raise typer.BadParameter(f"{text!r} is not YYYY-MM-DDTHH:MM", param_hint="--at") from err


def _item_id(store: BillingLedger, text: str) -> int:
    """An item by its id or its exact name."""
    if text.isdigit():
        return int(text)
    for item in store.items():
        if item.name == text:
            return item.id
    raise BillingInputError("item", f"there is no item {text!r}")


def _print_items(items: list[StoredItem]) -> None:
    table = Table("id", "item", "unit", "price", "VAT %", "stock", "low at", "machines", "")
    for item in items:
        state = "retired" if item.retired else "low" if item.low else ""
        table.add_row(
            str(item.id),
            plain(item.name),
            plain(item.unit),
            _money(item.price_cents),
            f"{item.vat_bp / 100:g}",
            str(item.stock),
            str(item.low_stock),
            ", ".join(machine for _site, machine in item.machines) or "all",
            state,
        )
    Console().print(table)


@consumables_app.command("list")
def list_items(ledger: LedgerOption = DEFAULT_LEDGER_URL) -> None:
    """The catalogue with its stock, retired items marked."""
    with existing_ledger(ledger) as store:
        _print_items(store.items())


@consumables_app.command("low")
def list_low(ledger: LedgerOption = DEFAULT_LEDGER_URL) -> None:
    """Items at or below their low-stock threshold; exit status 3 if there are any."""
    with existing_ledger(ledger) as store:
        low = store.low_stock()
    if not low:
        typer.echo("no item is low")
        return
    _print_items(low)
    raise typer.Exit(3)


@consumables_app.command("add")
def add_item(
    name: Annotated[str, typer.Argument()],
    unit: Annotated[str, typer.Option("--unit", help="what one is: pc, g, sheet, m")],
    price: Annotated[str, typer.Option("--price", help="per unit, in euros, e.g. 7,50")],
    by: ByOption,
    vat: Annotated[str, typer.Option("--vat", help="VAT rate in percent")] = "0",
    stock: Annotated[int, typer.Option("--stock", min=0, help="opening stock")] = 0,
    low: Annotated[int, typer.Option("--low", min=0, help="low-stock threshold")] = 0,
    site: Annotated[
        str | None, typer.Option("--site", help="the site of --machine", envvar="OFFICINA_SITE")
    ] = None,
    machine: Annotated[
        list[str] | None, typer.Option("--machine", help="a machine offering it (repeat)")
    ] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Add an item to the catalogue, with its opening stock."""
    if machine and site is None:
        raise typer.BadParameter("name the site of the machines", param_hint="--site")
    item = NewItem(
        name=name,
        unit=unit,
        price_cents=_cents(price, "--price"),
        vat_bp=_vat(vat, "--vat"),
        low_stock=low,
        machines=tuple((site or "", m) for m in sorted(set(machine or ()))),
    )
    with existing_ledger(ledger) as store:
        added = store.add_item(item, stock=stock, by=by)
    typer.echo(f"item {added.id}: {added.name}, {added.stock} {added.unit} in stock")


@consumables_app.command("restock")
def restock_item(
    item: Annotated[str, typer.Argument(help="the item's id or name")],
    quantity: Annotated[int, typer.Argument()],
    by: ByOption,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Count stock in."""
    with existing_ledger(ledger) as store:
        restocked = store.restock(_item_id(store, item), quantity, by=by)
    typer.echo(f"{restocked.name}: {restocked.stock} {restocked.unit} in stock")


@consumables_app.command("retire")
def retire_item(
    item: Annotated[str, typer.Argument(help="the item's id or name")],
    undo: Annotated[bool, typer.Option("--undo", help="sell it again")] = False,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Stop selling an item (its past takes stay), or with --undo sell it again."""
    with existing_ledger(ledger) as store:
        changed = store.retire_item(_item_id(store, item), retired=not undo)
    typer.echo(f"{changed.name}: {'retired' if changed.retired else 'on sale'}")


@consumables_app.command("take")
def take_item(
    member: Annotated[str, typer.Argument()],
    item: Annotated[str, typer.Argument(help="the item's id or name")],
    quantity: Annotated[int, typer.Argument()],
    by: ByOption,
    party: Annotated[
        int | None, typer.Option("--party", help="one of her billing parties (id)")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="when she took it, if earlier (ISO 8601)")
    ] = None,
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Record what a member took, priced now and counted off stock."""
    when = None if at is None else _moment(at)
    with existing_ledger(ledger) as store:
        tz = zone(timezone)
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=tz)
        with Session(store.engine) as db:
            known = db.get(MemberRow, member)
            if known is None or known.erased_at is not None:
                raise BillingInputError("member", f"there is no member {member}")
        take = store.take(
            _item_id(store, item),
            member=member,
            quantity=quantity,
            by=by,
            party=party,
            taken_at=when,
            tz=tz,
        )
    typer.echo(
        f"take {take.id}: {take.quantity} {take.unit} of {take.item} for {take.member},"
        f" {_money(take.net_cents)} net"
    )
