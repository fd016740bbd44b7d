"""Run detection: is the machine off, idling or really running, judged from its current."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Activity(IntEnum):
    """What the current says the machine is doing, ordered by current drawn."""

    OFF = 0
    IDLE = 1
    RUNNING = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class RunThresholds:
    """Per-machine calibration: `off < idle_amps ≤ idle < run_amps ≤ running`."""

    idle_amps: float
    run_amps: float
    hysteresis_amps: float = 0.0
    min_dwell_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.idle_amps < self.run_amps:
            raise ValueError("idle_amps, run_amps: need 0 < idle_amps < run_amps")
        if not 0 <= self.hysteresis_amps < self.idle_amps:
            raise ValueError("hysteresis_amps: need 0 ≤ hysteresis_amps < idle_amps")
        if self.min_dwell_s < 0:
            raise ValueError("min_dwell_s: must be ≥ 0")


@dataclass(frozen=True, slots=True)
class Transition:
    """An accepted change of activity, dated back to when the current first crossed."""

    before: Activity
    after: Activity
    since: float


class RunDetector:
    """Classifies current samples with hysteresis and a minimum dwell before accepting a change."""

    def __init__(self, thresholds: RunThresholds) -> None:
        self.thresholds = thresholds
        self.activity = Activity.OFF
        self._pending: Activity | None = None
        self._pending_since = 0.0

    def _level(self, amps: float) -> Activity:
        t = self.thresholds
        # Leaving a level needs the current to fall below its threshold by the hysteresis margin.
        run_at = t.run_amps - (t.hysteresis_amps if self.activity is Activity.RUNNING else 0.0)
        idle_at = t.idle_amps - (t.hysteresis_amps if self.activity is not Activity.OFF else 0.0)
        if amps >= run_at:
            return Activity.RUNNING
        if amps >= idle_at:
            return Activity.IDLE
        return Activity.OFF

    def update(self, amps: float, now: float) -> Transition | None:
        """Feed one sample taken at monotonic time `now`; return the transition it completes."""
        level = self._level(amps)
        if level is self.activity:
            self._pending = None
            return None
        if level is not self._pending:
            self._pending, self._pending_since = level, now
        if now - self._pending_since < self.thresholds.min_dwell_s:
            return None
        transition = Transition(self.activity, level, self._pending_since)
        self.activity, self._pending = level, None
        return transition
