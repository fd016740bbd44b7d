"""The RDM6300 driver against a simulated reader on a serial line."""

from __future__ import annotations

import logging

import pytest

from firmware_bridge.clock import ManualClock
from gateway.drivers.base import CardReader, CardReading, DriverError
from gateway.drivers.faults import GarbageError
from gateway.drivers.rfid import rdm6300
from tests.gateway.drivers.fakes.rdm6300 import FakeRdm6300, rdm6300_frame

UID = "0F00A1B2C3"
OTHER = "1A2B3C4D5E"


def _reader(release_s: float = 1.0) -> tuple[rdm6300.Driver, FakeRdm6300, ManualClock]:
    clock = ManualClock()
    chip = FakeRdm6300(clock)
    config = rdm6300.Config(driver="rdm6300", port="/dev/ttyS0", release_s=release_s)
    driver = rdm6300.Driver(config, bus=chip, clock=clock)
    driver.open()
    return driver, chip, clock


def _poll(driver: rdm6300.Driver, clock: ManualClock, seconds: float) -> list[str]:
    """Call read() every 50 ms for `seconds`, as the daemon does, collecting the cards."""
    cards = []
    for _ in range(round(seconds / 0.05)):
        clock.advance(0.05)
        reading = driver.read()
        if reading is not None:
            cards.append(reading.uid)
    return cards


def test_driver_is_a_card_reader() -> None:
    driver, _, _ = _reader()
    assert isinstance(driver, CardReader)


def test_a_held_card_is_reported_once_per_presentation() -> None:
    driver, chip, clock = _reader(release_s=1.0)
    chip.hold(UID)
    assert driver.read() == CardReading(uid=UID)
    assert _poll(driver, clock, 3.0) == []  # the reader repeats the frame; nobody hears it twice
    assert driver.counters["reads"] > 20
    assert driver.counters["cards"] == 1


def test_the_card_counts_again_only_after_being_away_release_s() -> None:
    driver, chip, clock = _reader(release_s=1.0)
    chip.hold(UID)
    assert _poll(driver, clock, 0.5) == [UID]
    chip.remove()
    _poll(driver, clock, 0.5)  # a quick wobble out of the field is still the same presentation
    chip.hold(UID)
    assert _poll(driver, clock, 0.5) == []
    chip.remove()
    _poll(driver, clock, 1.2)
    chip.hold(UID)
    assert _poll(driver, clock, 0.5) == [UID]


def test_another_card_counts_at_once() -> None:
    driver, chip, clock = _reader()
    chip.hold(UID)
    chip.remove()
    chip.hold(OTHER)
    assert _poll(driver, clock, 0.3) == [UID, OTHER]


def test_a_bad_checksum_is_counted_and_logged_once_and_the_next_frame_still_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    driver, chip, _ = _reader()
    chip.inject(rdm6300_frame(UID, checksum=0x00) * 3)
    chip.hold(OTHER)
    with caplog.at_level(logging.WARNING):
        assert driver.read() == CardReading(uid=OTHER)
    assert driver.counters["bad_checksum"] == 3
    warnings = [r.getMessage() for r in caplog.records if "bad_checksum" in r.getMessage()]
    assert len(warnings) == 1
    assert "checksum 00" in warnings[0]


def test_noise_and_a_truncated_frame_before_a_good_one_are_counted_and_skipped() -> None:
    driver, chip, _ = _reader()
    truncated = rdm6300_frame(UID)[:7]
    chip.inject(b"\xff\x13garbage" + truncated + rdm6300_frame(OTHER))
    assert driver.read() == CardReading(uid=OTHER)
    assert driver.counters["noise"] == 1
    assert driver.counters["bad_frame"] == 1
    assert driver.read() is None


def test_a_frame_split_across_reads_is_put_together() -> None:
    driver, chip, _ = _reader()
    frame = rdm6300_frame(UID)
    chip.inject(frame[:5])
    assert driver.read() is None
    chip.inject(frame[5:])
    assert driver.read() == CardReading(uid=UID)


def test_non_hex_digits_are_rejected_as_a_bad_frame() -> None:
    with pytest.raises(GarbageError) as caught:
        rdm6300.parse_frame(b"\x020F00A1B2CZ00\x03")
    assert caught.value.kind == "bad_frame"


def test_reading_before_open_is_a_driver_error() -> None:
    config = rdm6300.Config(driver="rdm6300", port="/dev/ttyS0")
    with pytest.raises(DriverError, match="not open"):
        rdm6300.Driver(config, bus=FakeRdm6300(ManualClock())).read()


def test_a_port_that_is_not_there_is_device_absent() -> None:
    from gateway.drivers.base import DeviceAbsentError

    config = rdm6300.Config(driver="rdm6300", port="/dev/officina-no-such-port")
    with pytest.raises(DeviceAbsentError, match="no-such-port"):
        rdm6300.Driver(config).open()
