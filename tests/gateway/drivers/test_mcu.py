"""The MCU driver's three roles against an emulated board on a real pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware_bridge import Bridge, Emulator
from gateway.drivers import mcu
from gateway.drivers.base import (
    CardReader,
    CardReading,
    CurrentSensor,
    DeviceAbsentError,
    DriverError,
    RelayOutput,
    UnsupportedError,
)
from tests.waiting import eventually


@pytest.fixture
def board() -> Iterator[Emulator]:
    """A lathe's board sending a measurement 20 times a second."""
    with Emulator("lathe", sample_period_s=0.05, seed=11) as emulated:
        yield emulated


def _driver(board: Emulator, **settings: int) -> mcu.Driver:
    config = mcu.Config.model_validate({"driver": "mcu", "port": board.port} | settings)
    return mcu.Driver(config, bus=Bridge(board.port, hello_timeout_s=2.0))


def test_the_views_play_the_three_roles(board: Emulator) -> None:
    driver = _driver(board)
    assert isinstance(driver.current(), CurrentSensor)
    assert isinstance(driver.reader(), CardReader)
    assert isinstance(driver.relay(), RelayOutput)


def test_the_current_view_reads_the_machine_running(board: Emulator) -> None:
    driver = _driver(board)
    current, relay = driver.current(), driver.relay()
    current.open()
    relay.open()
    try:
        relay.set(True)
        board.set_load("running")
        eventually(lambda: (r := current.read()) is not None and r.amps > 1.0, timeout=5)
        reading = current.read()
        assert reading is not None
        assert reading.volts == pytest.approx(230.0, abs=5.0)
        assert reading.meter_wh is not None
    finally:
        relay.close()
        current.close()


def _next_card(reader: mcu.McuCardReader) -> CardReading:
    found: list[CardReading] = []

    def arrived() -> bool:
        reading = reader.read()
        if reading is not None:
            found.append(reading)
        return bool(found)

    eventually(arrived, timeout=5, what="a card read")
    return found[0]


def test_a_card_read_while_the_current_view_waits_is_kept_for_the_reader(board: Emulator) -> None:
    driver = _driver(board)
    current, reader = driver.current(), driver.reader()
    current.open()
    reader.open()
    try:
        board.present_card("04A23C1A2B5E80")
        eventually(lambda: current.read() is not None and driver.counters.get("cards") == 1)
        assert reader.read() == CardReading(uid="04A23C1A2B5E80")
        assert reader.read() is None
    finally:
        reader.close()
        current.close()


def test_the_reader_view_finds_a_card_on_its_own(board: Emulator) -> None:
    driver = _driver(board)
    reader = driver.reader()
    reader.open()
    try:
        board.present_card("DEADBEEF")
        assert _next_card(reader) == CardReading(uid="DEADBEEF")
    finally:
        reader.close()


def test_the_relay_view_energises_the_relay_and_close_de_energises_it(board: Emulator) -> None:
    driver = _driver(board)
    relay = driver.relay()
    relay.open()
    relay.set(True)
    assert board.relay_energised
    relay.close()
    assert not board.relay_energised


def test_garbage_on_the_line_is_counted_and_the_next_measurement_comes_through(
    board: Emulator,
) -> None:
    driver = _driver(board)
    current = driver.current()
    current.open()
    try:
        board.inject_garbage(b"$M,0,1,not-a-number*0000\n\x00\xffnoise\n")
        eventually(
            lambda: driver.counters.get("bad_crc", 0) + driver.counters.get("malformed", 0) > 0
        )
        assert current.read() is not None
    finally:
        current.close()


def test_the_bridge_stays_open_until_the_last_view_closes(board: Emulator) -> None:
    driver = _driver(board)
    current, reader = driver.current(), driver.reader()
    current.open()
    reader.open()
    current.close()
    board.present_card("DEADBEEF")
    assert _next_card(reader) == CardReading(uid="DEADBEEF")
    reader.close()
    with pytest.raises(DriverError, match="not open"):
        reader.read()


def test_a_channel_the_board_does_not_have_is_unsupported(board: Emulator) -> None:
    driver = _driver(board, channel=3)
    with pytest.raises(UnsupportedError, match="channel 3"):
        driver.current().open()


def test_a_port_that_is_not_there_is_device_absent() -> None:
    config = mcu.Config(driver="mcu", port="/dev/officina-no-such-port")
    with pytest.raises(DeviceAbsentError, match="no-such-port"):
        mcu.Driver(config).current().open()
