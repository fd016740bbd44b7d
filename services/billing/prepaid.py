"""A member's prepaid credit, pure: movements in, balance and draws out, and what it buys.

The balance is the sum of the movements, never a number kept beside them: top-ups are positive,
draws negative. A statement is paid from credit as far as the balance goes; what it does not
cover stays owed. At the gateway the credit is told as the running time it buys at a machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.billing.errors import BillingInputError
from services.billing.money import MICROS_PER_CENT

MS_PER_MINUTE = 60_000


class CreditKind(StrEnum):
    """What moved a member's credit."""

    TOP_UP = "top_up"  # money in: recorded by staff, or a bank credit assigned to it
    STATEMENT = "statement"  # money out: an issued statement paid from credit
    CORRECTION = "correction"  # money out: a top-up recorded in error, taken back


@dataclass(frozen=True, slots=True)
class CreditMovement:
    """One movement: a top-up is positive, every other kind negative."""

    kind: CreditKind
    amount_cents: int

    def __post_init__(self) -> None:
        if self.kind is CreditKind.TOP_UP and self.amount_cents <= 0:
            raise BillingInputError("amount", "a top-up must be more than 0")
        if self.kind is not CreditKind.TOP_UP and self.amount_cents >= 0:
            raise BillingInputError("amount", "a draw takes credit away: it must be negative")


def balance_of(movements: Iterable[CreditMovement]) -> int:
    """The balance: every movement added up."""
    return sum(m.amount_cents for m in movements)


@dataclass(frozen=True, slots=True)
class CreditPayment:
    """A statement paid from credit as far as it goes: drawn + owed = the statement's total."""

    total_cents: int
    drawn_cents: int
    owed_cents: int
    balance_after_cents: int

    @property
    def movement(self) -> CreditMovement | None:
        """The draw to record, if anything was drawn."""
        if not self.drawn_cents:
            return None
        return CreditMovement(CreditKind.STATEMENT, -self.drawn_cents)


def pay_from_credit(balance_cents: int, total_cents: int) -> CreditPayment:
    """Draw a statement's total from a balance, never below zero and never more than owed."""
    drawn = max(0, min(balance_cents, total_cents))
    return CreditPayment(total_cents, drawn, total_cents - drawn, balance_cents - drawn)


def correction_of(balance_cents: int, amount_cents: int) -> CreditMovement:
    """Take back `amount_cents` recorded in error, never more than the balance holds."""
    if not 0 < amount_cents <= balance_cents:
        raise BillingInputError(
            "amount", f"must be more than 0 and at most the balance ({balance_cents} cents)"
        )
    return CreditMovement(CreditKind.CORRECTION, -amount_cents)


def running_seconds(available_cents: int, per_running_minute_micros: int) -> float | None:
    """The running time `available_cents` buys at a price per running minute.

    None when the machine's running time is free: credit does not limit it there. Nothing
    (0.0) when nothing is available.
    """
    if available_cents <= 0:
        return 0.0
    if per_running_minute_micros <= 0:
        return None
    # Whole milliseconds, rounded down: the gateway never lets in more than is paid for.
    ms = available_cents * MICROS_PER_CENT * MS_PER_MINUTE // per_running_minute_micros
    return ms / 1000
