"""The PN532 driver against a simulated chip speaking its frame protocol over I²C."""

from __future__ import annotations

import logging

import pytest

from firmware_bridge.clock import ManualClock
from gateway.drivers.base import CardReader, CardReading, DeviceAbsentError
from gateway.drivers.rfid import pn532
from tests.gateway.drivers.fakes.pn532 import FakePn532

UID4 = "1A2B3C4D"
UID7 = "04112233445566"


def _reader(release_s: float = 1.0) -> tuple[pn532.Driver, FakePn532, ManualClock]:
    clock = ManualClock()
    chip = FakePn532()
    driver = pn532.Driver(pn532.Config(driver="pn532", release_s=release_s), bus=chip, clock=clock)
    driver.open()
    return driver, chip, clock


def _poll(driver: pn532.Driver, clock: ManualClock, seconds: float) -> list[str]:
    cards = []
    for _ in range(round(seconds / 0.1)):
        clock.advance(0.1)
        reading = driver.read()
        if reading is not None:
            cards.append(reading.uid)
    return cards


def test_host_frames_carry_length_and_data_checksums() -> None:
    assert pn532.host_frame(0x02) == bytes.fromhex("0000ff02fed4022a00")


def test_open_checks_the_firmware_and_configures_the_sam() -> None:
    driver, chip, _ = _reader()
    assert isinstance(driver, CardReader)
    assert driver.firmware == "1.6"
    assert chip.sam_normal
    assert chip.commands == [0x02, 0x14, 0x32]


def test_no_card_reads_none() -> None:
    driver, _, _ = _reader()
    assert driver.read() is None


@pytest.mark.parametrize("uid", [UID4, UID7])
def test_a_card_is_read_by_in_list_passive_target(uid: str) -> None:
    driver, chip, _ = _reader()
    chip.place(uid)
    assert driver.read() == CardReading(uid=uid)
    assert chip.commands[-1] == 0x4A


def test_a_held_card_counts_once_and_again_after_being_away_release_s() -> None:
    driver, chip, clock = _reader(release_s=1.0)
    chip.place(UID4)
    assert _poll(driver, clock, 2.0) == [UID4]
    chip.remove()
    _poll(driver, clock, 1.5)
    chip.place(UID4)
    assert _poll(driver, clock, 0.5) == [UID4]


@pytest.mark.parametrize(
    ("fault", "counter"),
    [
        ("bad_dcs", "bad_checksum"),
        ("bad_lcs", "bad_checksum"),
        ("error", "error_frame"),
        ("nack", "nack"),
        ("silent", "timeout"),
    ],
)
def test_a_bad_answer_is_counted_and_logged_and_the_next_read_comes_through(
    fault: str, counter: str, caplog: pytest.LogCaptureFixture
) -> None:
    driver, chip, clock = _reader()
    chip.place(UID4)
    chip.then(fault)
    with caplog.at_level(logging.WARNING):
        assert driver.read() is None
    assert driver.counters[counter] == 1
    assert counter in caplog.text
    assert _poll(driver, clock, 0.1) == [UID4]


def test_a_chip_that_is_not_a_pn532_is_device_absent() -> None:
    driver = pn532.Driver(pn532.Config(driver="pn532"), bus=FakePn532(ic=0x33), clock=ManualClock())
    with pytest.raises(DeviceAbsentError, match="not a PN532"):
        driver.open()


def test_a_silent_bus_is_device_absent() -> None:
    chip = FakePn532()
    chip.then("silent")
    driver = pn532.Driver(pn532.Config(driver="pn532"), bus=chip, clock=ManualClock())
    with pytest.raises(DeviceAbsentError, match="no answer to command 0x02"):
        driver.open()
