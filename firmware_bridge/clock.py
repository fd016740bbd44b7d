"""The one clock of the gateway and its boards: monotonic seconds, a wall clock, and waiting.

Durations come from the monotonic clock; the wall clock only places them in time. Everything
that paces itself or stamps what it measures (the session machine, the drivers, the emulated
board, the simulations) takes a `Clock`, so a test or a simulation can run it on its own time.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds that never go backwards, the UTC wall clock, and a way to wait."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def wall_ms(self) -> int:
        """UTC epoch milliseconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` on this clock (nothing when not positive)."""
        ...


class SystemClock:
    """The machine's own clocks and `time.sleep`."""

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    def wall_ms(self) -> int:
        """`time.time()` in milliseconds."""
        return time.time_ns() // 1_000_000

    def sleep(self, seconds: float) -> None:
        """`time.sleep`, skipping non-positive waits."""
        if seconds > 0:
            time.sleep(seconds)


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

    def sleep(self, seconds: float) -> None:
        """Wait until `seconds` have passed on this clock (a `speed`-th of them in real time)."""
        if seconds > 0:
            time.sleep(self.real_seconds(seconds))

    def real_seconds(self, simulated: float) -> float:
        """How many real seconds pass while `simulated` seconds pass on this clock."""
        return simulated / self.speed


class ManualClock:
    """A clock that moves only when told to: waiting on it moves it at once."""

    def __init__(self, *, monotonic_s: float = 1000.0, wall_ms: int = 1_767_225_600_000) -> None:
        self.now = monotonic_s
        self.wall = wall_ms

    def monotonic(self) -> float:
        """The clock's own seconds."""
        return self.now

    def wall_ms(self) -> int:
        """The wall clock, moved along with the monotonic one unless set apart."""
        return self.wall

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass, at once."""
        self.advance(seconds)

    def advance(self, seconds: float, *, wall_too: bool = True) -> None:
        """Let `seconds` pass (`wall_too=False`: the wall clock stands, as a stalled one would)."""
        if seconds > 0:
            self.now += seconds
            if wall_too:
                self.wall += round(seconds * 1000)
