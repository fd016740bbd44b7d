"""The RC522 driver against a simulated MFRC522 and card, register by register."""

from __future__ import annotations

import logging

import pytest

from firmware_bridge.clock import ManualClock
from gateway.drivers.base import CardReader, CardReading, DeviceAbsentError
from gateway.drivers.rfid import rc522
from gateway.drivers.rfid.iso14443a import crc_a
from tests.gateway.drivers.fakes.rc522 import CardState, FakeMfrc522

UID4 = "DEADBEEF"
UID7 = "04A23C1A2B5E80"


def _reader(release_s: float = 1.0) -> tuple[rc522.Driver, FakeMfrc522, ManualClock]:
    clock = ManualClock()
    chip = FakeMfrc522()
    driver = rc522.Driver(rc522.Config(driver="rc522", release_s=release_s), bus=chip, clock=clock)
    driver.open()
    return driver, chip, clock


def _poll(driver: rc522.Driver, clock: ManualClock, seconds: float) -> list[str]:
    cards = []
    for _ in range(round(seconds / 0.1)):
        clock.advance(0.1)
        reading = driver.read()
        if reading is not None:
            cards.append(reading.uid)
    return cards


def test_crc_a_matches_the_halt_command_of_the_standard() -> None:
    assert crc_a(bytes([0x50, 0x00])) == bytes([0x57, 0xCD])


def test_open_resets_the_chip_and_turns_the_antenna_on() -> None:
    driver, chip, _ = _reader()
    assert isinstance(driver, CardReader)
    assert chip.antenna_on
    assert driver.version == 0x92
    assert chip.registers[0x2A] & 0x80  # the timer ends a transceive nobody answers


def test_no_card_reads_none() -> None:
    driver, chip, _ = _reader()
    assert driver.read() is None
    assert chip.frames == [bytes([0x52])]


def test_a_4_byte_uid_is_read_through_anticollision_and_select_then_halted() -> None:
    driver, chip, _ = _reader()
    card = chip.place(UID4)
    assert driver.read() == CardReading(uid=UID4)
    assert chip.frames[:2] == [bytes([0x52]), bytes([0x93, 0x20])]
    assert card.state is CardState.HALT


def test_a_7_byte_uid_is_read_through_cascade_level_2() -> None:
    driver, chip, _ = _reader()
    chip.place(UID7)
    assert driver.read() == CardReading(uid=UID7)
    assert bytes([0x95, 0x20]) in chip.frames


def test_a_held_card_counts_once_and_again_after_being_away_release_s() -> None:
    driver, chip, clock = _reader(release_s=1.0)
    chip.place(UID4)
    assert _poll(driver, clock, 3.0) == [UID4]
    chip.remove()
    _poll(driver, clock, 0.5)
    chip.place(UID4)
    assert _poll(driver, clock, 1.0) == []  # a wobble, not a new presentation
    chip.remove()
    _poll(driver, clock, 1.5)
    chip.place(UID4)
    assert _poll(driver, clock, 1.0) == [UID4]


@pytest.mark.parametrize(("fault", "counter"), [("flip", "bad_bcc"), ("parity", "protocol_error")])
def test_a_spoiled_answer_is_counted_and_logged_and_the_card_still_reads_next_time(
    fault: str, counter: str, caplog: pytest.LogCaptureFixture
) -> None:
    driver, chip, clock = _reader()
    chip.place(UID4)
    chip.then("ok", fault)  # the ATQA is fine, the anticollision answer is spoiled
    with caplog.at_level(logging.WARNING):
        assert driver.read() is None
    assert driver.counters[counter] == 1
    assert counter in caplog.text
    assert _poll(driver, clock, 0.3) == [UID4]


def test_a_spoiled_sak_crc_is_counted() -> None:
    driver, chip, clock = _reader()
    chip.place(UID4)
    chip.then("ok", "ok", "flip")
    assert driver.read() is None
    assert driver.counters["bad_crc"] == 1
    assert _poll(driver, clock, 0.3) == [UID4]


def test_a_chip_that_does_not_answer_is_device_absent() -> None:
    chip = FakeMfrc522(version=0x00)
    driver = rc522.Driver(rc522.Config(driver="rc522"), bus=chip, clock=ManualClock())
    with pytest.raises(DeviceAbsentError, match="no MFRC522"):
        driver.open()


def test_close_turns_the_antenna_off() -> None:
    driver, chip, _ = _reader()
    driver.close()
    assert not chip.antenna_on
