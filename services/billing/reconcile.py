"""Which issued statement a credit pays, and where each statement stands with its payments.

A credit is matched first by what the payer copied from the statement: its structured creditor
reference (`RF…`, in `Strd/CdtrRefInf/Ref` or typed into the free text) or its number
(`2026/0001`); failing that, by the exact amount still open together with the member's name.
A credit that fits no statement, or fits more than one, is left for a coordinator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.billing.bank_files import Credit
from services.billing.fiscal_print import creditor_reference

DEFAULT_TERMS_DAYS = 30
_NUMBER = re.compile(r"\b(\d{4})\s*[/-]\s*(\d{4,})\b")


class MatchedBy(StrEnum):
    """How a payment came to a statement."""

    REFERENCE = "reference"
    AMOUNT = "amount"
    COORDINATOR = "coordinator"
    CREDIT = "credit"  # put on a member's credit by a coordinator


class PaymentState(StrEnum):
    """Where an issued statement stands: nothing due yet, paid, paid in part, or late."""

    OPEN = "open"
    PAID = "paid"
    PART_PAID = "part-paid"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True, kw_only=True)
class PayableStatement:
    """An issued statement a payment may go to, with what has been paid on it so far."""

    id: int
    number: str
    member_name: str
    total_cents: int
    paid_cents: int

    @property
    def open_cents(self) -> int:
        """What is still to be paid (never below zero)."""
        return max(self.total_cents - self.paid_cents, 0)


def _compact(text: str) -> str:
    return "".join(char for char in text if char.isalnum()).upper()


def _words(text: str) -> set[str]:
    return {word for word in re.split(r"\W+", text.casefold()) if len(word) > 1}


def by_reference(credit: Credit, statements: Sequence[PayableStatement]) -> int | None:
    """The statement whose creditor reference or number the credit carries, if exactly one."""
    given = _compact(credit.creditor_reference or "")
    free = _compact(credit.remittance)
    numbers = {f"{year}/{serial}" for year, serial in _NUMBER.findall(credit.remittance)}
    found = set()
    for statement in statements:
        reference = creditor_reference(statement.number)
        if given == reference or reference in free or statement.number in numbers:
            found.add(statement.id)
    return found.pop() if len(found) == 1 else None


def by_amount_and_name(credit: Credit, statements: Sequence[PayableStatement]) -> int | None:
    """The one statement open for exactly this amount whose member the payer's name names."""
    payer = _words(credit.payer) | _words(credit.remittance)
    found = [
        statement.id
        for statement in statements
        if statement.open_cents == credit.amount_cents
        and (name := _words(statement.member_name))
        and name <= payer
    ]
    return found[0] if len(found) == 1 else None


def match(credit: Credit, statements: Sequence[PayableStatement]) -> tuple[int, MatchedBy] | None:
    """The statement a credit pays and how that was told, or None for a coordinator to decide."""
    if credit.currency != "EUR":
        return None
    statement = by_reference(credit, statements)
    if statement is not None:
        return statement, MatchedBy.REFERENCE
    statement = by_amount_and_name(credit, statements)
    if statement is not None:
        return statement, MatchedBy.AMOUNT
    return None


def payment_state(total_cents: int, paid_cents: int, due: date, today: date) -> PaymentState:
    """Paid in full, in part, late, or simply not yet due."""
    if paid_cents >= total_cents:
        return PaymentState.PAID
    if today > due:
        return PaymentState.OVERDUE
    if paid_cents > 0:
        return PaymentState.PART_PAID
    return PaymentState.OPEN
