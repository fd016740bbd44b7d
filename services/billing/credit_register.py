"""The accountant's register of members' credit: every movement of a period, as CSV.

Top-ups are money received ahead of any statement; draws are statements paid from it. Amounts
keep their sign, so the column adds up to what the members' credit grew by in the period, and
each row carries the member's balance after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from services.billing.csv_locale import csv_locale
from services.billing.store.prepaid import StoredMovement

HEADER = (
    "day",
    "member",
    "kind",
    "amount",
    "balance_after",
    "payment",
    "statement",
    "by",
    "note",
)


def credit_register_csv(movements: Iterable[StoredMovement], tz: ZoneInfo, locale: str) -> str:
    """One row per movement: local day, member, kind, signed amount, balance after, links."""
    style = csv_locale(locale)
    rows = [
        (
            m.at.astimezone(tz).date().isoformat(),
            m.member,
            m.kind.value,
            style.cents(m.amount_cents),
            style.cents(m.balance_after_cents),
            m.payment_id or "",
            m.statement_id or "",
            m.by or "",
            m.note,
        )
        for m in movements
    ]
    return style.table(HEADER, rows)
