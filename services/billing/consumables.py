"""Consumables as billing sees them: what a member took, priced when she took it.

A take's amount is its quantity times the item's unit price in cents, fixed when it is recorded:
exact, so a statement's consumable lines add up to what was taken, cent for cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumableTake:
    """Some of an item a member took on a local day, at a machine or recorded by staff."""

    id: int
    member: str
    item: str
    unit: str
    quantity: int
    unit_price_cents: int
    vat_bp: int
    day: date
    site: str | None = None
    machine: str | None = None
    # The member's billing party it goes to; none: her default party.
    party: int | None = None

    @property
    def net_cents(self) -> int:
        """What it costs before VAT."""
        return self.quantity * self.unit_price_cents


def priced(quantity: int, unit_price_cents: int) -> int:
    """The net amount of a take: quantity times unit price, exact."""
    return quantity * unit_price_cents
