"""A simulated clock shared by a driver and a fake chip: `sleep` moves time on at once."""

from __future__ import annotations


class FakeClock:
    """Monotonic seconds that pass only when someone sleeps or the test advances them."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        """The simulated time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass."""
        if seconds > 0:
            self.now += seconds

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass (what a test calls)."""
        self.sleep(seconds)
