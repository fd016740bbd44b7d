"""Fixtures for the firmware bridge: an emulated board on a real pseudo-terminal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from firmware_bridge import Emulator, Frame, SerialLink
from firmware_bridge.codec import crc16

FAST_SAMPLE_S = 0.05


def line(payload: str, *, crc: str | None = None) -> bytes:
    """A wire line for `payload` (the text between `$` and `*`) with its right CRC unless given."""
    text = crc if crc is not None else f"{crc16(payload.encode('ascii')):04X}"
    return f"${payload}*{text}\n".encode("ascii")


def wait_for(condition: Callable[[], bool], *, timeout: float = 3.0) -> None:
    """Wait until `condition()` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)


def read_until(link: SerialLink, wanted: Callable[[Frame], bool], *, timeout: float = 3.0) -> Frame:
    """The first frame from `link` that `wanted` accepts; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        frame = link.read(remaining)
        if frame is not None and wanted(frame):
            return frame
    pytest.fail(f"no wanted frame within {timeout} s")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A lathe's board sampling 20 times a second."""
    with Emulator("lathe", sample_period_s=FAST_SAMPLE_S, seed=7) as board:
        yield board


@pytest.fixture
def link(emulator: Emulator) -> Iterator[SerialLink]:
    """The host side of the emulated board's serial port, open."""
    with SerialLink(emulator.port) as serial_link:
        yield serial_link
