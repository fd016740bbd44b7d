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


# A level that never settles (a current hovering at a threshold) is accepted after this many dwells.
SETTLE_LIMIT = 4


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time, from `start` to `end` (monotonic seconds), at one activity."""

    start: float
    end: float
    activity: Activity


@dataclass(frozen=True, slots=True)
class Transition:
    """An accepted change of activity, with what the machine did since the current first moved.

    `segments` cover the time from the first sample that left `before` up to now. A stretch
    shorter than the minimum dwell (a motor's inrush on the way from off to idle) is billed at
    no more than the higher of its neighbours, so a spike is never billed as running.
    """

    before: Activity
    after: Activity
    segments: tuple[Segment, ...]

    @property
    def since(self) -> float:
        """When the current first left the old activity."""
        return self.segments[0].start


class RunDetector:
    """Classifies current samples with hysteresis and a minimum dwell before accepting a change."""

    def __init__(self, thresholds: RunThresholds) -> None:
        self.thresholds = thresholds
        self.activity = Activity.OFF
        # Raw levels since the current first left `activity`: (first sample time, level).
        self._excursion: list[tuple[float, Activity]] = []

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
            self._excursion.clear()  # a spike that came back: nothing happened
            return None
        if not self._excursion or self._excursion[-1][1] is not level:
            self._excursion.append((now, level))
        dwell = self.thresholds.min_dwell_s
        held = now - self._excursion[-1][0]
        away = now - self._excursion[0][0]
        if held < dwell and away < SETTLE_LIMIT * dwell:
            return None
        transition = Transition(self.activity, level, self._segments(now))
        self.activity = level
        self._excursion.clear()
        return transition

    def reset(self) -> None:
        """Forget what was seen: the machine is taken to be off until the current says otherwise."""
        self.activity = Activity.OFF
        self._excursion.clear()

    def provisional(self, now: float) -> tuple[Segment, ...]:
        """What the current did since it left the accepted activity, as if accepted now.

        A session that closes while a change is still unconfirmed bills its last moments by
        these segments rather than by the activity the dwell has not yet let go of.
        """
        return self._segments(now) if self._excursion else ()

    def _segments(self, now: float) -> tuple[Segment, ...]:
        dwell = self.thresholds.min_dwell_s
        starts = [start for start, _ in self._excursion]
        raw = [level for _, level in self._excursion]
        ends = [*starts[1:], now]
        segments: list[Segment] = []
        previous = self.activity
        for n, (start, end, level) in enumerate(zip(starts, ends, raw, strict=True)):
            if n + 1 < len(raw) and end - start < dwell:
                # Too short to trust (an inrush, a flicker): never above both its neighbours.
                level = min(level, max(previous, raw[n + 1]))
            if segments and segments[-1].activity is level:
                segments[-1] = Segment(segments[-1].start, end, level)
            else:
                segments.append(Segment(start, end, level))
            previous = level
        return tuple(segments)
