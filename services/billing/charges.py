"""Direct charges: each session piece priced by the tariff of its local day, after allowances.

Exact amounts are integers over `EXACT_PER_CENT`: a price in micro-euros per minute times a
time in milliseconds, or per kWh times milliwatt-hours, over a common denominator. Each session
piece becomes cents once, by `money.round_half_up`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from services.billing.money import MICROS_PER_CENT, round_half_up
from services.billing.packs import PackBalance
from services.billing.tariffs import METER_UNITS, Allowance, Meter, Tariff
from services.billing.usage import Piece

# lcm(60,000 ms per minute, 1,000,000 mWh per kWh): every meter's exact amount is an integer
# number of micro-euros over this denominator.
EXACT_DENOMINATOR = 3_000_000
EXACT_PER_CENT = EXACT_DENOMINATOR * MICROS_PER_CENT
_FACTOR = {meter: EXACT_DENOMINATOR // unit.base_per_unit for meter, unit in METER_UNITS.items()}


def quantity_of(piece: Piece, meter: Meter) -> int:
    """A piece's quantity of one meter, in base units."""
    if meter is Meter.RUNNING_MINUTES:
        return piece.running_ms
    if meter is Meter.UNLOCKED_MINUTES:
        return piece.unlocked_ms
    return piece.energy_mwh


class SessionCharge(NamedTuple):
    """What one session piece costs, and why: its day, tariff, free quantities and amount.

    A named tuple for the reason `UsageSession` is one: there is one for every session.
    """

    piece: Piece
    day: date
    plan: str | None
    tariff: Tariff
    free: tuple[tuple[Meter, int], ...]  # base units the plan's allowance covered
    minimum_applied: bool
    cents: int
    packed: tuple[tuple[int, Meter, int], ...] = ()  # (pack id, meter, base units) drawn

    @property
    def free_running_ms(self) -> int:
        """Running milliseconds the allowance covered."""
        return sum(quantity for meter, quantity in self.free if meter is Meter.RUNNING_MINUTES)


@dataclass(slots=True)
class AllowanceUse:
    """One allowance of a member's month: the plan it came with, granted and used so far."""

    plan: str
    allowance: Allowance
    granted: int
    used: int = 0

    @property
    def left(self) -> int:
        """What is still free."""
        return self.granted - self.used


class AllowanceBalance:
    """What is left this month of a member's allowances, drawn in session order."""

    def __init__(self, uses: Sequence[AllowanceUse]) -> None:
        self.uses = list(uses)

    def draw(self, plan: str | None, piece: Piece, meter: Meter, wanted: int) -> int:
        """Take up to `wanted` of a meter for a session on the plan; returns what was taken."""
        taken = 0
        for use in self.uses:
            if taken >= wanted:
                break
            if use.plan != plan or use.allowance.meter is not meter or use.left <= 0:
                continue
            if not use.allowance.covers(piece.session.site, piece.session.machine):
                continue
            step = min(use.left, wanted - taken)
            use.used += step
            taken += step
        return taken


@dataclass(frozen=True, slots=True)
class PriceList:
    """A tariff's prices scaled to the exact denominator, worked out once per tariff."""

    tariff: Tariff
    running: int
    unlocked: int
    kwh: int
    meters: tuple[Meter, ...]

    @classmethod
    def of(cls, tariff: Tariff) -> PriceList:
        """The price list of a tariff."""
        return cls(
            tariff,
            tariff.per_running_minute * _FACTOR[Meter.RUNNING_MINUTES],
            tariff.per_unlocked_minute * _FACTOR[Meter.UNLOCKED_MINUTES],
            tariff.per_kwh * _FACTOR[Meter.KWH],
            tariff.priced_meters,
        )

    def charge(self, piece: Piece, day: date, plan: str | None) -> SessionCharge:
        """What a piece costs with no allowance to draw from: the common case, kept short."""
        exact = (
            self.running * piece.running_ms
            + self.unlocked * piece.unlocked_ms
            + self.kwh * piece.energy_mwh
        )
        cents = round_half_up(exact, EXACT_PER_CENT)
        minimum = self.tariff.minimum_cents
        # The minimum is per session: on its first piece only.
        if cents < minimum and piece.first:
            return SessionCharge(piece, day, plan, self.tariff, (), True, minimum)
        return SessionCharge(piece, day, plan, self.tariff, (), False, cents)


def charge_piece(
    piece: Piece,
    *,
    day: date,
    plan: str | None,
    prices: PriceList,
    balance: AllowanceBalance,
    packs: PackBalance | None = None,
) -> SessionCharge:
    """Price one session piece: allowances first, then packs, then the tariff, then the minimum."""
    if not balance.uses and not packs:
        return prices.charge(piece, day, plan)
    tariff = prices.tariff
    free: list[tuple[Meter, int]] = []
    packed: list[tuple[int, Meter, int]] = []
    billable = 0
    exact = 0
    for meter in prices.meters:
        quantity = quantity_of(piece, meter)
        covered = balance.draw(plan, piece, meter, quantity)
        if covered:
            free.append((meter, covered))
        rest = quantity - covered
        if packs and rest:
            for pack, step in packs.draw(piece, meter, rest):
                packed.append((pack, meter, step))
                rest -= step
        billable += rest
        exact += tariff.price(meter) * rest * _FACTOR[meter]
    cents = round_half_up(exact, EXACT_PER_CENT)
    # The minimum is per session: on its first piece, unless allowances and packs covered it all.
    wholly_free = bool(free or packed) and billable == 0
    minimum_applied = piece.first and not wholly_free and cents < tariff.minimum_cents
    if minimum_applied:
        cents = tariff.minimum_cents
    return SessionCharge(
        piece, day, plan, tariff, tuple(free), minimum_applied, cents, tuple(packed)
    )
