"""Machine profiles: what a clamp on each machine reads, window by window, and why."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.profiles import (
    CUTTING,
    ON,
    PROFILES,
    Circuit,
    Draw,
    Load,
    MachineProfile,
    machine_profile,
)

CYCLE_S = 0.02  # one 50 Hz mains cycle


@dataclass(frozen=True, slots=True)
class Calibration:
    """Run-detection thresholds a gateway could be given for a machine of a profile."""

    id: str
    profile: str
    idle_amps: float
    run_amps: float
    hysteresis_amps: float


# What a coordinator would set for each emulated profile, read off its idle and cutting draw.
CALIBRATIONS: tuple[Calibration, ...] = (
    Calibration("lathe-1", "lathe", idle_amps=0.8, run_amps=4.0, hysteresis_amps=0.3),
    Calibration("cnc-router-1", "cnc-router", idle_amps=0.6, run_amps=5.0, hysteresis_amps=0.3),
    Calibration("laser-1", "laser-cutter", idle_amps=0.8, run_amps=3.2, hysteresis_amps=0.3),
    Calibration("drill-press-1", "drill-press", idle_amps=0.8, run_amps=2.6, hysteresis_amps=0.2),
)


def readings(
    profile: MachineProfile, load: Load, *, window_s: float, seconds: float, seed: int = 1
) -> list[float]:
    """RMS amps per window, from switching `load` on at t=0 for `seconds`."""
    circuit = Circuit(profile, rng=random.Random(seed), mains_hz=50.0)
    circuit.switch(load, 0.0)
    count = round(seconds / window_s)
    return [
        circuit.integrate(n * window_s, (n + 1) * window_s, volts=230.0).irms for n in range(count)
    ]


def test_every_machine_on_the_floor_is_profiled_and_idles_below_its_running_current() -> None:
    assert {"lathe", "cnc-router", "laser-cutter", "drill-press"} <= set(PROFILES)
    for profile in PROFILES.values():
        assert 0 < profile.idle_amps < profile.running_amps < 16  # a 16 A socket
        assert profile.nominal_amps(Load.OFF) == 0


def test_a_lathe_switched_on_draws_six_times_its_idle_current_for_a_few_hundred_ms() -> None:
    lathe = PROFILES["lathe"]
    cycles = readings(lathe, Load.IDLE, window_s=CYCLE_S, seconds=1.0)
    inrush = [a for a in cycles if a > 2 * lathe.idle_amps]
    assert len(inrush) * CYCLE_S == pytest.approx(0.3)
    assert 5 <= max(cycles) / lathe.idle_amps <= 7
    assert cycles[-1] == pytest.approx(lathe.idle_amps)


def test_a_lathe_going_from_idle_to_a_cut_has_no_second_inrush() -> None:
    lathe = PROFILES["lathe"]
    circuit = Circuit(lathe, rng=random.Random(3), mains_hz=50.0)
    circuit.switch(Load.IDLE, 0.0)
    circuit.integrate(0.0, 10.0, volts=230.0)
    circuit.switch(Load.RUNNING, 10.0)
    first_cycle = circuit.integrate(10.0, 10.0 + CYCLE_S, volts=230.0).irms
    assert first_cycle == pytest.approx(lathe.running_amps, rel=0.05)


def test_a_lathe_cut_wanders_but_stays_a_cut() -> None:
    lathe = PROFILES["lathe"]
    cut = readings(lathe, Load.RUNNING, window_s=1.0, seconds=600)[1:]  # past the inrush
    assert max(cut) - min(cut) > 0.5  # depth and feed change the load
    assert min(cut) > 0.75 * lathe.running_amps
    assert sum(cut) / len(cut) == pytest.approx(lathe.running_amps, rel=0.05)


def test_a_cnc_router_runs_its_dust_extraction_whenever_it_is_on() -> None:
    router = PROFILES["cnc-router"]
    extraction = next(d for d in router.draws if "dust" in d.part)
    spindle = next(d for d in router.draws if "spindle" in d.part)
    assert extraction.when == ON and spindle.when == CUTTING
    assert router.idle_amps > extraction.amps  # switched on, not cutting: extraction draws


def test_a_laser_pulsing_at_a_few_hertz_reads_steady_over_a_one_second_window() -> None:
    laser = PROFILES["laser-cutter"]
    tube = next(d for d in laser.draws if d.pulse_hz)
    assert 1 <= tube.pulse_hz <= 5 and tube.when == CUTTING
    per_second = readings(laser, Load.RUNNING, window_s=1.0, seconds=120)[1:]
    per_cycle = readings(laser, Load.RUNNING, window_s=CYCLE_S, seconds=20)[20:]
    # Cycle by cycle the tube's bursts show: some cycles read no more than idling.
    assert min(per_cycle) == pytest.approx(laser.idle_amps)
    assert max(per_cycle) > laser.running_amps
    # Over whole seconds they are averaged: RMS over the window, never down to idling.
    assert min(per_second) > laser.idle_amps + 1.5
    assert max(per_second) - min(per_second) < 0.15 * laser.running_amps


def test_a_window_reads_the_rms_of_its_cycles_not_their_mean() -> None:
    laser = PROFILES["laser-cutter"]
    per_cycle = readings(laser, Load.RUNNING, window_s=CYCLE_S, seconds=2.0)
    whole = readings(laser, Load.RUNNING, window_s=2.0, seconds=2.0)[0]
    assert whole == pytest.approx(math.sqrt(sum(a * a for a in per_cycle) / len(per_cycle)))
    assert whole > sum(per_cycle) / len(per_cycle)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_power_over_a_long_window_is_the_profiles_nominal_power(name: str) -> None:
    profile = PROFILES[name]
    circuit = Circuit(profile, rng=random.Random(5), mains_hz=50.0)
    circuit.switch(Load.RUNNING, 0.0)
    window = circuit.integrate(0.0, 3600.0, volts=230.0)
    assert window.watts == pytest.approx(profile.nominal_watts(Load.RUNNING), rel=0.05)
    assert 0.3 < profile.power_factor(Load.RUNNING) <= 1


def test_a_soft_started_profile_has_no_inrush() -> None:
    lathe = PROFILES["lathe"].without_inrush()
    cycles = readings(lathe, Load.IDLE, window_s=CYCLE_S, seconds=0.5)
    assert max(cycles) == pytest.approx(lathe.idle_amps)


@pytest.mark.parametrize("machine", CALIBRATIONS, ids=[m.id for m in CALIBRATIONS])
@pytest.mark.parametrize("window_s", [1.0, 12.0])
def test_a_calibration_read_off_the_profile_tells_idling_from_running(
    machine: Calibration, window_s: float
) -> None:
    """Thresholds read off each profile hold with 5 % to spare for the clamp's noise.

    Only the reading that holds a motor's inrush crosses `run_amps` while idling; the floor's
    minimum dwell (longer than one reading) rides it out.
    """
    idle_amps, run_amps, hysteresis = machine.idle_amps, machine.run_amps, machine.hysteresis_amps
    profile = PROFILES[machine.profile]
    for seed in range(5):
        idling = readings(profile, Load.IDLE, window_s=window_s, seconds=300, seed=seed)[1:]
        cutting = readings(profile, Load.RUNNING, window_s=window_s, seconds=300, seed=seed)[1:]
        assert idle_amps <= 0.95 * min(idling)
        assert 1.05 * max(idling) < run_amps - hysteresis
        assert 0.95 * min(cutting) >= run_amps


def test_a_draw_out_of_range_is_refused_naming_the_fields() -> None:
    with pytest.raises(ValueError, match=r"chiller: out of range: pf, duty"):
        Draw(part="chiller", amps=1.0, pf=1.5, when=ON, duty=0)


def test_an_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown machine 'loom'.*lathe"):
        machine_profile("loom")


@given(
    st.sampled_from(sorted(PROFILES)),
    st.sampled_from(list(Load)),
    st.floats(0, 1e5),
    st.floats(0, 3600),
    st.integers(0, 2**32),
)
def test_current_and_power_are_never_negative(
    name: str, load: Load, start: float, length: float, seed: int
) -> None:
    circuit = Circuit(PROFILES[name], rng=random.Random(seed), mains_hz=50.0)
    circuit.switch(load, start)
    window = circuit.integrate(start, start + length, volts=230.0)
    assert window.irms >= 0
    assert window.watts >= 0
