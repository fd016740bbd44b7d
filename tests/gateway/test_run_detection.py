"""Run detection thresholds: ordering, hysteresis and dwell, including garbage calibrations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.run_detection import Activity, RunDetector, RunThresholds


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
