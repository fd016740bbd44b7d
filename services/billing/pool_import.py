"""Cost pools from a CSV file: each good row is entered, each bad one reported by row and field.

Columns (header required): `month,name,total,key` and optionally `machines` (`site/machine`
separated by spaces), `weights`, `billed_quantity` (in the key's unit: kWh or hours),
`remainder_key`, `remainder_weights`, `vat` (percent). A bad row does not stop the good ones.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass

from services.billing.allocation import KEY_RULES, AllocationKey, CostPool
from services.billing.errors import BillingError, BillingInputError
from services.billing.money import parse_cents, parse_milli, parse_vat_bp
from services.billing.months import Month
from services.billing.store import BillingLedger

log = logging.getLogger(__name__)

REQUIRED = ("month", "name", "total", "key")
KNOWN = (
    *REQUIRED,
    "machines",
    "weights",
    "billed_quantity",
    "remainder_key",
    "remainder_weights",
    "vat",
)


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A CSV row that was not entered: its line number, the field and why."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import entered and what it refused."""

    added: tuple[tuple[Month, str], ...]
    rejected: tuple[RejectedRow, ...]


def parse_key(text: str, field: str) -> AllocationKey:
    """An allocation key by name, or a BillingInputError listing the known ones."""
    try:
        return AllocationKey(text.strip().lower())
    except ValueError as err:
        known = ", ".join(key.value for key in AllocationKey)
        raise BillingInputError(field, f"{text!r} is not one of {known}") from err


def parse_machines(text: str, field: str = "machines") -> tuple[tuple[str, str], ...]:
    """`site/machine site/machine` as pairs."""
    pairs = []
    for item in text.replace(",", " ").split():
        site, slash, machine = item.partition("/")
        if not slash or not site or not machine:
            raise BillingInputError(field, f"{item!r} is not site/machine")
        pairs.append((site, machine))
    return tuple(sorted(set(pairs)))


def billed_in_base_units(text: str, key: AllocationKey, field: str = "billed_quantity") -> int:
    """A billed quantity in the key's display unit (kWh, hours) as the key's base units."""
    milli = parse_milli(text, field)
    return milli * KEY_RULES[key].base_per_unit // 1000


def pool_from_row(row: dict[str, str]) -> tuple[Month, CostPool]:
    """A month and its pool from one CSV row."""
    month = Month.parse(row.get("month") or "")
    key = parse_key(row.get("key") or "", "key")
    remainder = (row.get("remainder_key") or "").strip()
    billed = (row.get("billed_quantity") or "").strip()
    pool = CostPool(
        name=(row.get("name") or "").strip(),
        total_cents=parse_cents(row.get("total") or "", "total"),
        key=key,
        machines=parse_machines(row.get("machines") or ""),
        weight_set=(row.get("weights") or "").strip() or None,
        billed_quantity=billed_in_base_units(billed, key) if billed else None,
        remainder_key=parse_key(remainder, "remainder_key") if remainder else None,
        remainder_weight_set=(row.get("remainder_weights") or "").strip() or None,
        vat_bp=parse_vat_bp(row.get("vat") or "0", "vat"),
    )
    return month, pool


def import_pools(ledger: BillingLedger, text: str) -> ImportReport:
    """Enter every good row of a CSV text; report the rest."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise BillingInputError("header", f"missing column(s) {', '.join(missing)}")
    unknown = [column for column in header if column not in KNOWN]
    if unknown:
        raise BillingInputError("header", f"unknown column(s) {', '.join(unknown)}")
    added: list[tuple[Month, str]] = []
    rejected: list[RejectedRow] = []
    for row in reader:
        line = reader.line_num
        try:
            if None in row:
                raise BillingInputError("row", "more values than columns")
            month, pool = pool_from_row(row)
            ledger.add_pool(month, pool, source="csv")
        except BillingInputError as err:
            rejected.append(RejectedRow(line, err.field, err.reason))
            log.warning("pool CSV line %d: %s: %s", line, err.field, err.reason)
        except BillingError as err:
            rejected.append(RejectedRow(line, "month", str(err)))
            log.warning("pool CSV line %d: %s", line, err)
        else:
            added.append((month, pool.name))
    return ImportReport(tuple(added), tuple(rejected))
