"""Packs of machine time or energy, pure: what a member holds, drawn before usage is priced.

A pack is bought at a price (invoiced as its own line, with its VAT, on the statement of the
month it was bought) and then drawn, oldest-expiring first, by the sessions that start while it
is valid on the machines it covers. A draw is a zero-cent line on the statement that names the
pack and the quantity: the time it covers was paid for with the pack, so pricing it again as a
negative line would charge its VAT twice. No I/O: the store reads what is left of each pack and
the statements' draw lines say what was taken.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from services.billing.errors import BillingInputError
from services.billing.tariffs import Meter
from services.billing.usage import Piece

PACK_METERS = (Meter.RUNNING_MINUTES, Meter.KWH)


@dataclass(slots=True, kw_only=True)
class PackHolding:
    """A pack a member holds: its meter, what is left in base units, and when it may be drawn."""

    id: int
    member: str
    name: str
    meter: Meter
    left: int
    valid_from_ms: int
    valid_until_ms: int
    site: str | None = None
    machine: str | None = None

    def __post_init__(self) -> None:
        if self.meter not in PACK_METERS:
            raise BillingInputError("meter", "a pack holds running time or energy")
        if self.left < 0:
            raise BillingInputError("left", "must not be negative")

    def covers(self, piece: Piece) -> bool:
        """Whether the piece may draw from this pack: its machine, started while valid."""
        session = piece.session
        return (
            (self.site is None or self.site == session.site)
            and (self.machine is None or self.machine == session.machine)
            and self.valid_from_ms <= piece.started_ms < self.valid_until_ms
        )


@dataclass(frozen=True, slots=True)
class PackSale:
    """A pack bought in the month: invoiced on that month's statement at its price and VAT."""

    pack: int
    member: str
    name: str
    meter: Meter
    quantity: int
    cents: int
    vat_bp: int


@dataclass(frozen=True, slots=True)
class PackDraw:
    """What one statement drew from one pack, in base units."""

    pack: int
    name: str
    meter: Meter
    quantity: int


class PackBalance:
    """What is left of a member's packs, drawn in session order, oldest-expiring first."""

    def __init__(self, packs: Iterable[PackHolding]) -> None:
        # Copies: drawing must not change the month's inputs, which may be billed again.
        self.packs = sorted((replace(p) for p in packs), key=lambda p: (p.valid_until_ms, p.id))

    def __bool__(self) -> bool:
        return bool(self.packs)

    def draw(self, piece: Piece, meter: Meter, wanted: int) -> tuple[tuple[int, int], ...]:
        """Take up to `wanted` of a meter for a piece: (pack id, quantity) of each pack drawn."""
        taken: list[tuple[int, int]] = []
        for pack in self.packs:
            if wanted <= 0:
                break
            if pack.meter is not meter or pack.left <= 0 or not pack.covers(piece):
                continue
            step = min(pack.left, wanted)
            pack.left -= step
            wanted -= step
            taken.append((pack.id, step))
        return tuple(taken)


def draws_of(
    drawn: Iterable[tuple[int, Meter, int]], names: dict[int, str]
) -> tuple[PackDraw, ...]:
    """The draws of some charges summed per pack, by pack id."""
    sums: dict[tuple[int, Meter], int] = {}
    for pack, meter, quantity in drawn:
        sums[(pack, meter)] = sums.get((pack, meter), 0) + quantity
    return tuple(
        PackDraw(pack, names.get(pack, str(pack)), meter, quantity)
        for (pack, meter), quantity in sorted(sums.items())
        if quantity
    )


# One milliwatt-hour at one watt lasts 3.6 s: 3,600 ms.
MS_PER_MWH_AT_ONE_WATT = 3_600


def packs_running_s(
    packs: Iterable[PackHolding], *, site: str, machine: str, at_ms: int, rated_w: float | None
) -> float:
    """Running seconds what is left of the packs valid at `at_ms` on a machine still buys.

    Running time counts as it is; energy at the machine's rated power, the most it draws, so
    the time is never overstated; with no rated power known energy packs are not counted.
    Whole milliseconds, rounded down, like credit.
    """
    ms = 0
    for pack in packs:
        if pack.left <= 0 or not pack.valid_from_ms <= at_ms < pack.valid_until_ms:
            continue
        if (pack.site is not None and pack.site != site) or (
            pack.machine is not None and pack.machine != machine
        ):
            continue
        if pack.meter is Meter.RUNNING_MINUTES:
            ms += pack.left
        elif rated_w is not None and rated_w > 0:
            ms += math.floor(pack.left * MS_PER_MWH_AT_ONE_WATT / rated_w)
    return ms / 1000
