"""Statement numbers: one gapless series per year, taken inside the transaction that issues."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from services.billing.errors import BillingInputError
from services.billing.models import StatementNumberRow, StatementRow

NUMBERS = cast(Table, StatementNumberRow.__table__)


def lock_counter(db: Session, upsert: Callable[[Any], Any], year: int) -> None:
    """Make sure the year's counter exists; its row is what concurrent issuers queue on."""
    statement = upsert(NUMBERS).values(year=year, last=0)
    db.execute(statement.on_conflict_do_nothing(index_elements=["year"]))


def take_numbers(db: Session, year: int, count: int) -> int:
    """Reserve `count` numbers of a year's series; returns the first."""
    last = db.execute(
        update(NUMBERS)
        .where(NUMBERS.c.year == year)
        .values(last=NUMBERS.c.last + count)
        .returning(NUMBERS.c.last)
    ).scalar_one()
    return int(last) - count + 1


def parse_number(number: str) -> tuple[int, int]:
    """The year and sequence of a `YYYY/NNNN` number."""
    year, _, seq = number.strip().partition("/")
    if not (year.isdigit() and seq.isdigit() and len(year) == 4):
        raise BillingInputError("number", f"{number!r} is not YYYY/NNNN")
    return int(year), int(seq)


def by_number(db: Session, number: str) -> StatementRow:
    """The issued statement or credit note with a number."""
    year, seq = parse_number(number)
    row = db.scalar(
        select(StatementRow).where(StatementRow.number_year == year, StatementRow.number_seq == seq)
    )
    if row is None:
        raise BillingInputError("number", f"no issued statement {number}")
    return row
