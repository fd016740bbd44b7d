"""The clock a driver paces itself by: the system's, or a simulated one shared with a fake chip."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds that never go backwards, and a way to wait for them."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` (nothing when not positive)."""
        ...


class SystemClock:
    """The machine's monotonic clock and `time.sleep`."""

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """`time.sleep`, skipping non-positive waits."""
        if seconds > 0:
            time.sleep(seconds)
