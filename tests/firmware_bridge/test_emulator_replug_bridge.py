"""A pulled USB cable, seen by the gateway's driver: reading goes on once it is plugged back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from firmware_bridge import Bridge, CardRead, Emulator, Load, Measurement, Reading
from tests.firmware_bridge.conftest import wait_for


@pytest.fixture
def bridge(emulator: Emulator) -> Iterator[Bridge]:
    """The gateway's driver on the emulated lathe's port."""
    with Bridge(emulator.port, silence_s=0.5) as driver:
        yield driver


def next_reading(bridge: Bridge, kind: type[Reading], *, timeout: float = 5.0) -> Reading:
    """The next reading of `kind`; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        reading = bridge.read(remaining)
        if isinstance(reading, kind):
            return reading
    pytest.fail(f"no {kind.__name__} within {timeout} s")


def latest_measurement(bridge: Bridge) -> Measurement:
    """The newest measurement: whatever is queued is taken, then one more."""
    while bridge.read(0.0) is not None:
        pass
    reading = next_reading(bridge, Measurement)
    assert isinstance(reading, Measurement)
    return reading


def test_measurements_go_on_after_the_cable_is_pulled_and_plugged_back(
    emulator: Emulator, bridge: Bridge
) -> None:
    bridge.set_relay(0, True)
    emulator.set_load(Load.RUNNING)
    before = latest_measurement(bridge)

    emulator.unplug()
    wait_for(lambda: bridge.counters["disconnects"] == 1)
    time.sleep(0.3)  # the board measures on while the cable is out; those frames are lost
    emulator.replug()

    after = latest_measurement(bridge)
    counters = bridge.counters
    assert counters["reconnects"] == 1
    assert after.seq > before.seq + 5  # the same board: its seq went on, with a gap
    assert after.wh > before.wh
    assert after.irms > 1.0
    emulator.present_card("04A1B2C3")
    assert next_reading(bridge, CardRead) == CardRead("04A1B2C3")
    bridge.set_relay(0, False)  # relay commands work again on the reopened port
    assert not emulator.relay_energised


def test_a_board_powered_by_the_pulled_cable_comes_back_reset_and_locked(
    emulator: Emulator, bridge: Bridge
) -> None:
    bridge.set_relay(0, True)
    emulator.set_load(Load.RUNNING)
    before = latest_measurement(bridge)

    emulator.unplug()
    emulator.reset_board()  # no power while unplugged
    wait_for(lambda: bridge.counters["disconnects"] == 1)
    emulator.replug()

    after = next_reading(bridge, Measurement)
    for _ in range(5):  # frames from before the pull may still be queued
        assert isinstance(after, Measurement)
        if after.wh == 0:
            break
        after = next_reading(bridge, Measurement)
    assert isinstance(after, Measurement)
    assert before.wh > 0 and after.wh == 0  # the counter restarted, and nothing flows
    assert not emulator.relay_energised
    assert after.irms < 0.1  # locked: the running machine draws nothing
    bridge.set_relay(0, True)
    assert emulator.relay_energised


def test_a_long_pull_takes_the_link_down_and_the_plug_brings_it_back(
    emulator: Emulator, bridge: Bridge
) -> None:
    latest_measurement(bridge)
    emulator.unplug()
    wait_for(lambda: bridge.read(0.1) is None and bridge.counters["silences"] == 1)
    assert not bridge.link_up
    emulator.replug()
    latest_measurement(bridge)
    assert bridge.link_up
