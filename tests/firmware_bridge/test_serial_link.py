"""SerialLink over a real pseudo-terminal: noise on the line, a pulled cable, a missing port."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from firmware_bridge import (
    CardRead,
    Emulator,
    LinkDownError,
    LinkError,
    Measurement,
    Ping,
    SerialLink,
)
from tests.firmware_bridge.conftest import read_until, wait_for


def test_line_noise_is_logged_and_counted_and_the_next_frame_gets_through(
    emulator: Emulator, link: SerialLink, caplog: pytest.LogCaptureFixture
) -> None:
    read_until(link, lambda f: isinstance(f, Measurement))
    before = link.counters
    with caplog.at_level(logging.WARNING, logger="firmware_bridge"):
        emulator.inject_garbage(b"\x00\xff\xfe hum $M,0,BROKEN*0000\n")
        emulator.present_card("04A1B2C3")
        card = read_until(link, lambda f: isinstance(f, CardRead))
    after = link.counters
    assert card == CardRead("04A1B2C3")
    assert after["garbage_bytes"] - before["garbage_bytes"] == 8
    assert after["bad_crc"] - before["bad_crc"] == 1
    assert "line noise" in caplog.text
    assert "bad_crc" in caplog.text
    assert emulator.port in caplog.text


def test_reading_goes_on_after_the_cable_is_pulled_and_plugged_back(
    emulator: Emulator, link: SerialLink
) -> None:
    read_until(link, lambda f: isinstance(f, Measurement))
    emulator.unplug()
    wait_for(lambda: not link.connected)
    with pytest.raises(LinkDownError):
        link.send(Ping())
    emulator.replug()
    wait_for(lambda: link.connected)
    link.send(Ping())  # the host may talk again at once
    read_until(link, lambda f: isinstance(f, Measurement))
    assert link.counters["disconnects"] == 1
    assert link.counters["reconnects"] == 1


def test_opening_a_port_that_does_not_exist_raises_link_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "ttyUSB9")
    with pytest.raises(LinkError, match="ttyUSB9"):
        SerialLink(missing).open()
