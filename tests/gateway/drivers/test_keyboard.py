"""The keyboard-wedge driver against a simulated reader's key events."""

from __future__ import annotations

import logging

import pytest

from firmware_bridge.clock import ManualClock
from gateway.drivers.base import CardReader, CardReading, DriverError
from gateway.drivers.rfid import keyboard
from tests.gateway.drivers.fakes.keyboard import FakeWedge


def _reader(
    number_format: str = "decimal", release_s: float = 1.0
) -> tuple[keyboard.Driver, FakeWedge, ManualClock]:
    clock = ManualClock()
    wedge = FakeWedge()
    config = keyboard.Config.model_validate(
        {
            "driver": "keyboard",
            "device": "/dev/input/by-id/usb-reader-event-kbd",
            "format": number_format,
            "release_s": release_s,
        }
    )
    driver = keyboard.Driver(config, bus=wedge, clock=clock)
    driver.open()
    return driver, wedge, clock


def test_the_reader_is_grabbed_while_open_and_given_back_on_close() -> None:
    driver, wedge, _ = _reader()
    assert isinstance(driver, CardReader)
    assert wedge.grabbed
    driver.close()
    assert not wedge.grabbed


def test_a_reader_grabbed_by_another_process_is_a_driver_error() -> None:
    wedge = FakeWedge()
    wedge.grab()
    config = keyboard.Config(driver="keyboard", device="/dev/input/event3")
    with pytest.raises(DriverError, match="cannot grab"):
        keyboard.Driver(config, bus=wedge).open()


def test_ten_decimal_digits_become_the_hex_uid() -> None:
    driver, wedge, _ = _reader("decimal")
    wedge.type_text("0012345678\n")
    assert driver.read() == CardReading(uid="00BC614E")


def test_hex_digits_are_taken_as_typed_in_upper_case() -> None:
    driver, wedge, _ = _reader("hex")
    wedge.type_text("04a23c1a2b5e80\n")
    assert driver.read() == CardReading(uid="04A23C1A2B5E80")


def test_a_line_without_enter_is_not_a_card_yet() -> None:
    driver, wedge, _ = _reader()
    wedge.type_text("00123")
    assert driver.read() is None
    wedge.type_text("45678\n")
    assert driver.read() == CardReading(uid="00BC614E")


def test_a_card_counts_once_per_presentation() -> None:
    driver, wedge, clock = _reader(release_s=1.0)
    wedge.type_text("0012345678\n0012345678\n")
    assert driver.read() is not None
    assert driver.read() is None
    clock.advance(1.5)
    wedge.type_text("0012345678\n")
    assert driver.read() is not None
    assert driver.counters["reads"] == 3
    assert driver.counters["cards"] == 2


@pytest.mark.parametrize(
    ("number_format", "typed", "counter"),
    [
        ("decimal", "00123G5678\n", "bad_key"),
        ("decimal", "0012AB\n", "bad_key"),
        ("hex", "ABC\n", "bad_line"),
        ("hex", "A" * 40 + "\n", "overlong"),
        ("decimal", "\n", "empty_line"),
    ],
)
def test_a_garbled_line_is_counted_and_logged_and_the_next_card_still_reads(
    number_format: str, typed: str, counter: str, caplog: pytest.LogCaptureFixture
) -> None:
    driver, wedge, _ = _reader(number_format)
    good = "0012345678\n" if number_format == "decimal" else "0BC614E0\n"
    wedge.type_text(typed + good)
    with caplog.at_level(logging.WARNING):
        reading = driver.read()
    assert reading is not None
    assert reading.uid in {"00BC614E", "0BC614E0"}
    assert driver.counters[counter] == 1
    assert counter in caplog.text
