"""The PZEM-004T driver against a simulated meter on a Modbus-RTU line."""

from __future__ import annotations

import logging

import pytest

from gateway.drivers.base import CurrentReading, CurrentSensor, DriverError
from gateway.drivers.current import pzem004t
from gateway.drivers.current.modbus import crc16_modbus, with_crc
from tests.gateway.drivers.fakes.pzem004t import FakePzem004t


def _meter(address: int = 0xF8) -> tuple[pzem004t.Driver, FakePzem004t]:
    chip = FakePzem004t(address=0x01)
    chip.volts, chip.amps, chip.watts, chip.energy_wh = 231.4, 12.345, 2650.7, 123_456
    config = pzem004t.Config(driver="pzem004t", port="/dev/ttyUSB0", address=address)
    driver = pzem004t.Driver(config, bus=chip)
    driver.open()
    return driver, chip


def test_crc16_modbus_matches_the_reference_check_value() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37


def test_the_request_is_read_input_registers_0_to_9_with_crc() -> None:
    driver, chip = _meter()
    driver.read()
    assert chip.requests == [with_crc(bytes([0xF8, 0x04, 0x00, 0x00, 0x00, 0x0A]))]


def test_a_reading_carries_amps_volts_watts_and_the_raw_energy_counter() -> None:
    driver, _ = _meter()
    assert isinstance(driver, CurrentSensor)
    assert driver.read() == CurrentReading(
        amps=12.345,
        volts=231.4,
        watts=2650.7,
        meter_wh=123456,
        meter_range=pzem004t.ENERGY_REGISTER,
    )
    assert driver.last is not None
    assert driver.last.hertz == 50.0
    assert driver.last.power_factor == 1.0
    assert driver.counters["reads"] == 1


def test_32_bit_values_take_the_low_word_first() -> None:
    driver, chip = _meter()
    chip.amps = 70.000  # 70000 mA > 0xFFFF: needs the high word
    chip.energy_wh = 0x0001_0002
    reading = driver.read()
    assert reading is not None
    assert reading.amps == 70.0
    assert reading.meter_wh == 65538


def test_the_energy_counter_is_reported_raw_across_a_reset() -> None:
    driver, _ = _meter()
    assert driver.read() is not None
    driver.reset_energy()
    reading = driver.read()
    assert reading is not None
    assert reading.meter_wh == 0
    assert driver.counters["resets"] == 1


def test_a_meter_at_its_own_address_is_polled_there() -> None:
    driver, chip = _meter(address=0x01)
    assert driver.read() is not None
    assert chip.requests[0][0] == 0x01


def test_a_meter_that_does_not_answer_is_a_counted_timeout() -> None:
    driver, _ = _meter(address=0x07)
    assert driver.read() is None
    assert driver.counters["timeout"] == 1


@pytest.mark.parametrize(
    ("fault", "counter"),
    [("bad_crc", "bad_crc"), ("silent", "timeout"), ("short", "timeout"), ("noise", "bad_crc")],
)
def test_a_bad_reply_gives_none_is_counted_and_the_next_reading_comes_through(
    fault: str, counter: str, caplog: pytest.LogCaptureFixture
) -> None:
    driver, chip = _meter()
    chip.then(fault)
    with caplog.at_level(logging.WARNING):
        assert driver.read() is None
    assert driver.counters[counter] == 1
    assert counter in caplog.text
    assert driver.read() == CurrentReading(
        amps=12.345,
        volts=231.4,
        watts=2650.7,
        meter_wh=123456,
        meter_range=pzem004t.ENERGY_REGISTER,
    )


def test_an_exception_reply_is_counted_and_named(caplog: pytest.LogCaptureFixture) -> None:
    driver, chip = _meter()
    chip.then("refuse")
    with caplog.at_level(logging.WARNING):
        assert driver.read() is None
    assert driver.counters["exception"] == 1
    assert "0x04 (slave error)" in caplog.text
    assert driver.read() is not None


def test_a_failing_energy_reset_is_a_driver_error() -> None:
    driver, chip = _meter()
    chip.then("silent")
    with pytest.raises(DriverError, match="energy reset"):
        driver.reset_energy()


def test_an_address_above_the_general_one_is_refused_by_config() -> None:
    with pytest.raises(ValueError, match="address"):
        pzem004t.Config(driver="pzem004t", port="/dev/ttyUSB0", address=0xF9)
