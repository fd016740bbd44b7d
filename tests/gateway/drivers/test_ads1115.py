"""The ADS1115 + SCT-013 driver against a simulated ADC converting a waveform in simulated time."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from firmware_bridge.clock import ManualClock
from gateway.drivers.base import CurrentSensor, DeviceAbsentError, DriverError
from gateway.drivers.current import ads1115
from tests.gateway.drivers.fakes.ads1115 import FakeAds1115, Signal, sine


def _clamp(
    inputs: dict[str, Signal], *, oscillator_error: float = 0.0, **config: Any
) -> tuple[ads1115.Driver, FakeAds1115]:
    clock = ManualClock()
    chip = FakeAds1115(clock, inputs=inputs, oscillator_error=oscillator_error)
    settings: dict[str, Any] = {"driver": "ads1115", "amps_per_volt": 30.0} | config
    driver = ads1115.Driver(ads1115.Config(**settings), bus=chip, clock=clock)
    driver.open()
    return driver, chip


def _amps(driver: ads1115.Driver) -> float:
    reading = driver.read()
    assert reading is not None
    return reading.amps


def test_driver_is_a_current_sensor() -> None:
    driver, _ = _clamp({})
    assert isinstance(driver, CurrentSensor)


def test_open_sets_continuous_conversion_at_860_sps_on_the_chosen_input_and_gain() -> None:
    _, chip = _clamp({}, channel="A2", full_scale_v=1.024)
    word = chip.registers[0x01]
    assert word >> 12 & 0b111 == 0b110  # AIN2 against GND
    assert word >> 9 & 0b111 == 0b011  # ±1.024 V
    assert not word & 0x0100  # continuous
    assert word >> 5 & 0b111 == 0b111  # 860 SPS
    assert word & 0b11 == 0b11  # comparator off


@pytest.mark.parametrize("amps", [1.0, 12.5, 28.0])
def test_a_sine_through_a_30a_per_volt_clamp_reads_its_rms_amps_within_2_percent(
    amps: float,
) -> None:
    driver, _ = _clamp({"A0": sine(amps / 30.0)})
    assert _amps(driver) == pytest.approx(amps, rel=0.02)


@pytest.mark.parametrize("oscillator_error", [-0.1, -0.03, 0.04, 0.1])
def test_an_adc_oscillator_off_by_up_to_10_percent_still_reads_within_2_percent(
    oscillator_error: float,
) -> None:
    driver, _ = _clamp({"A0": sine(0.5)}, oscillator_error=oscillator_error)
    assert _amps(driver) == pytest.approx(15.0, rel=0.02)


def test_sixty_hertz_mains_reads_within_2_percent() -> None:
    driver, _ = _clamp({"A0": sine(0.4, hz=60.0)}, mains_hz=60.0)
    assert _amps(driver) == pytest.approx(12.0, rel=0.02)


def test_the_dc_bias_of_a_single_ended_clamp_is_removed() -> None:
    biased = sine(0.5, offset=1.65)
    driver, _ = _clamp({"A1": biased}, channel="A1", full_scale_v=4.096)
    assert _amps(driver) == pytest.approx(15.0, rel=0.02)


def test_a_current_output_clamp_is_calibrated_by_turns_over_burden() -> None:
    # SCT-013-000: 2000 turns; 10 A in the wire is 5 mA through 33 Ω = 0.165 V RMS.
    clock = ManualClock()
    chip = FakeAds1115(clock, inputs={"A0": sine(0.165)})
    config = ads1115.Config(driver="ads1115", ct_turns=2000, burden_ohms=33.0, full_scale_v=0.512)
    driver = ads1115.Driver(config, bus=chip, clock=clock)
    driver.open()
    assert _amps(driver) == pytest.approx(10.0, rel=0.02)


def test_a_window_is_whole_mains_cycles_and_no_conversion_is_read_twice() -> None:
    driver, chip = _clamp({"A0": sine(0.5)}, oscillator_error=-0.1)
    driver.read()
    got = chip.conversions_read
    assert 0 not in got  # never before the first conversion was ready
    assert len(got) == len(set(got))
    assert driver.counters["samples"] == len(got)
    assert 150 <= len(got) <= 160  # 10 cycles at 50 Hz, paced at 90 % of 860/s


def test_no_current_reads_zero() -> None:
    driver, _ = _clamp({})
    assert _amps(driver) == 0.0


def test_a_chip_that_lost_its_setup_is_set_up_again_counted_and_still_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    driver, chip = _clamp({"A0": sine(0.5)})
    chip.brown_out()
    with caplog.at_level(logging.WARNING):
        assert _amps(driver) == pytest.approx(15.0, rel=0.02)
    assert driver.counters["chip_reset"] == 1
    assert "config register lost" in caplog.text


def test_an_overloaded_input_is_counted_as_clipped() -> None:
    driver, _ = _clamp({"A0": sine(2.0)}, full_scale_v=2.048)
    assert _amps(driver) < 60.0
    assert driver.counters["clipped"] == 1


def test_a_failed_transfer_is_a_driver_error_and_the_next_read_comes_through() -> None:
    driver, chip = _clamp({"A0": sine(0.5)})
    chip.fail_next(1)
    with pytest.raises(DriverError, match="I²C transfer failed"):
        driver.read()
    assert driver.counters["bus_error"] == 1
    assert _amps(driver) == pytest.approx(15.0, rel=0.02)


def test_no_chip_at_the_address_is_device_absent() -> None:
    clock = ManualClock()
    chip = FakeAds1115(clock, address=0x49)
    driver = ads1115.Driver(
        ads1115.Config(driver="ads1115", amps_per_volt=30.0), bus=chip, clock=clock
    )
    with pytest.raises(DeviceAbsentError, match="0x48"):
        driver.open()


def test_close_powers_the_chip_down_to_single_shot() -> None:
    driver, chip = _clamp({})
    driver.close()
    assert not chip.continuous


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "amps_per_volt"),
        ({"amps_per_volt": 30.0, "burden_ohms": 33.0}, "amps_per_volt"),
        ({"ct_turns": 2000}, "burden_ohms"),
        ({"amps_per_volt": 30.0, "full_scale_v": 3.3}, "full_scale_v"),
        ({"amps_per_volt": 30.0, "channel": "A1-A2"}, "channel"),
    ],
)
def test_config_names_the_field_that_is_wrong(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ads1115.Config(driver="ads1115", **settings)
