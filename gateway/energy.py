"""A meter's energy register: successive readings of its counter become the energy added.

A counter steps back in two ways. It *wraps*: it reached the top of its range and went on from
zero (a PZEM-004T after 9,999.99 kWh). Or it was *reset*: a power cut or a reset command set it
back to zero, and it has counted from there. Across a wrap the energy added is what was left to
the top plus the new reading; that can only be true if the machine could have drawn that much
since the last reading. Otherwise the drop is a reset, and the new reading is what was drawn
since it (if the machine could have drawn that; a counter that jumps to anything else is not
believed, and adds nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SUPPLY_MAX_WATTS = 50_000.0
"""More than any workshop machine's supply gives (a 63 A three-phase feed is about 43 kW)."""


@dataclass(frozen=True, slots=True)
class RegisterRange:
    """What a meter's energy register holds: Wh from 0 up to `wraps_at_wh`, or it never wraps."""

    # None: the register cannot wrap within a machine's life (it may still be reset).
    wraps_at_wh: float | None
    # The register's step: a poll may see one more step than the time allows (rounding).
    resolution_wh: float = 0.001

    def __post_init__(self) -> None:
        if self.wraps_at_wh is not None and not self.wraps_at_wh > 0:
            raise ValueError(f"wraps_at_wh: {self.wraps_at_wh} is not a positive range")


NEVER_WRAPS = RegisterRange(wraps_at_wh=None)
"""The range of a register too wide to wrap (or of a sensor without one)."""


class StepKind(StrEnum):
    """How one reading of the register followed the one before it."""

    FIRST = "first"
    COUNTED = "counted"
    WRAPPED = "wrapped"
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class EnergyStep:
    """What one reading of the register added, and how."""

    kind: StepKind
    added_wh: float
    before_wh: float | None
    reading_wh: float


class EnergyRegister:
    """Follows one meter's energy register and adds across its wraps and resets."""

    def __init__(
        self, register_range: RegisterRange, *, max_watts: float = SUPPLY_MAX_WATTS
    ) -> None:
        self.range = register_range
        self.max_watts = max_watts
        self.wraps = 0
        self.resets = 0
        self._last_wh: float | None = None
        self._last_at: float | None = None

    def read(self, reading_wh: float, at: float) -> EnergyStep:
        """Take the register's reading made at monotonic second `at`: the energy it added."""
        before, since = self._last_wh, self._last_at
        self._last_wh, self._last_at = reading_wh, at
        if before is None or since is None:
            return EnergyStep(StepKind.FIRST, 0.0, None, reading_wh)
        if reading_wh >= before:
            return EnergyStep(StepKind.COUNTED, reading_wh - before, before, reading_wh)
        most_wh = self.max_watts * max(0.0, at - since) / 3600.0 + self.range.resolution_wh
        top = self.range.wraps_at_wh
        if top is not None and before <= top and (top - before) + reading_wh <= most_wh:
            self.wraps += 1
            return EnergyStep(StepKind.WRAPPED, (top - before) + reading_wh, before, reading_wh)
        self.resets += 1
        # After a reset the register holds what was drawn since; more than that is no reading.
        added = reading_wh if 0.0 <= reading_wh <= most_wh else 0.0
        return EnergyStep(StepKind.RESET, added, before, reading_wh)
