"""Run detection thresholds: ordering, hysteresis and dwell, including garbage calibrations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.run_detection import Activity, RunDetector, RunThresholds, Transition


@pytest.mark.parametrize(
    ("idle", "run", "hysteresis", "field"),
    [(0.0, 1.0, 0.0, "idle_amps"), (2.0, 1.0, 0.0, "run_amps"), (1.0, 2.0, 1.5, "hysteresis")],
)
def test_nonsense_thresholds_are_refused_naming_the_field(
    idle: float, run: float, hysteresis: float, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        RunThresholds(idle_amps=idle, run_amps=run, hysteresis_amps=hysteresis)


@given(st.lists(st.floats(min_value=0, max_value=50), min_size=1, max_size=200))
def test_without_dwell_or_hysteresis_activity_is_the_level_of_the_last_sample(
    samples: list[float],
) -> None:
    detector = RunDetector(RunThresholds(idle_amps=0.5, run_amps=3.0))
    for n, amps in enumerate(samples):
        detector.update(amps, float(n))
    last = samples[-1]
    expected = Activity.RUNNING if last >= 3.0 else Activity.IDLE if last >= 0.5 else Activity.OFF
    assert detector.activity is expected


@given(st.lists(st.floats(min_value=2.6, max_value=50), min_size=1, max_size=50))
def test_inside_the_hysteresis_band_a_running_machine_stays_running(samples: list[float]) -> None:
    detector = RunDetector(RunThresholds(idle_amps=0.5, run_amps=3.0, hysteresis_amps=0.4))
    detector.update(5.0, 0.0)
    for n, amps in enumerate(samples, start=1):
        detector.update(amps, float(n))
    assert detector.activity is Activity.RUNNING


def feed(detector: RunDetector, samples: list[float], *, period: float = 0.2) -> list[Transition]:
    """One sample every `period` seconds from t=0; the transitions they complete."""
    found: list[Transition] = []
    for n, amps in enumerate(samples):
        transition = detector.update(amps, n * period)
        if transition is not None:
            found.append(transition)
    return found


def test_a_motor_inrush_on_the_way_to_idle_is_not_billed_as_running() -> None:
    detector = RunDetector(RunThresholds(idle_amps=0.8, run_amps=4.0, min_dwell_s=0.5))
    # Off, a 0.4 s inrush at 10 A, then idling at 1.8 A.
    [transition] = feed(detector, [0.0, 10.3, 8.1, 1.8, 1.8, 1.8, 1.8])
    assert (transition.before, transition.after) == (Activity.OFF, Activity.IDLE)
    assert [s.activity for s in transition.segments] == [Activity.IDLE]
    assert transition.segments[0].start == pytest.approx(0.2)


def test_a_quick_stop_is_split_between_idle_and_off_at_the_right_moments() -> None:
    detector = RunDetector(RunThresholds(idle_amps=0.8, run_amps=4.0, min_dwell_s=0.5))
    feed(detector, [6.0] * 4)
    assert detector.activity is Activity.RUNNING
    # Cutting stops at t=1.0 (idle 0.6 s), then the machine is switched off at t=1.6.
    transitions = [
        t
        for n, amps in enumerate([1.8, 1.8, 1.8, 0.0, 0.0, 0.0, 0.0], start=5)
        if (t := detector.update(amps, n * 0.2)) is not None
    ]
    [transition] = transitions
    assert transition.after is Activity.OFF
    idle, off = transition.segments
    assert (idle.activity, idle.start) == (Activity.IDLE, 1.0)
    assert idle.end == pytest.approx(1.6)
    assert off.activity is Activity.OFF
    assert off.start == pytest.approx(1.6)


def test_a_current_that_never_settles_is_accepted_after_the_settle_limit() -> None:
    detector = RunDetector(RunThresholds(idle_amps=0.8, run_amps=4.0, min_dwell_s=0.5))
    # Flickering between idle and running every sample, starting from off.
    transitions = feed(detector, [1.8, 6.0] * 6)
    assert transitions and transitions[0].before is Activity.OFF
