"""Clocks: durations come from a monotonic clock, the wall clock only places them in time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What the gateway needs of a clock."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def wall_ms(self) -> int:
        """UTC epoch milliseconds."""
        ...


class SystemClock:
    """The machine's own clocks."""

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    def wall_ms(self) -> int:
        """`time.time()` in milliseconds."""
        return time.time_ns() // 1_000_000


class ScaledClock:
    """A clock that runs `speed` times faster than real time, for simulations and the demo."""

    def __init__(self, speed: float, *, start_wall_ms: int | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed: must be > 0")
        self.speed = speed
        self._mono0 = time.monotonic()
        self._wall0 = time.time_ns() // 1_000_000 if start_wall_ms is None else start_wall_ms

    def monotonic(self) -> float:
        """Simulated seconds since this clock was made."""
        return (time.monotonic() - self._mono0) * self.speed

    def wall_ms(self) -> int:
        """The simulated wall clock: the start time plus simulated elapsed time."""
        return self._wall0 + round(self.monotonic() * 1000)

    def real_seconds(self, simulated: float) -> float:
        """How many real seconds pass while `simulated` seconds pass on this clock."""
        return simulated / self.speed
