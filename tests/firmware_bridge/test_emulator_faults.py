"""Faults on demand, each seen the way the gateway meets it: through a `Bridge` on the pty."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from itertools import pairwise

import pytest

from firmware_bridge import (
    Bridge,
    Emulator,
    Load,
    Measurement,
    RelayMismatchError,
    RelayNotAcknowledgedError,
)
from tests.firmware_bridge.conftest import wait_for


@pytest.fixture
def bridge(emulator: Emulator) -> Iterator[Bridge]:
    """The gateway's driver on the emulated lathe's port, relay ACKs awaited 0.1 s."""
    with Bridge(emulator.port, ack_timeout_s=0.1, silence_s=0.5) as driver:
        yield driver


def measurements(bridge: Bridge, count: int, *, timeout: float = 5.0) -> list[Measurement]:
    """The next `count` measurements the bridge passes on."""
    found: list[Measurement] = []
    deadline = time.monotonic() + timeout
    while len(found) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"{len(found)} of {count} measurements within {timeout} s")
        reading = bridge.read(remaining)
        if isinstance(reading, Measurement):
            found.append(reading)
    return found


def drain(bridge: Bridge) -> Measurement | None:
    """Take every reading already queued; the last measurement among them."""
    last = None
    while (reading := bridge.read(0.0)) is not None:
        last = reading if isinstance(reading, Measurement) else last
    return last


def gaps(readings: list[Measurement]) -> list[int]:
    """How many frames were lost between each pair of readings (0: none)."""
    return [b.seq - a.seq - 1 for a, b in pairwise(readings)]


def test_the_next_frames_dropped_show_as_one_seq_gap_of_that_length(
    emulator: Emulator, bridge: Bridge
) -> None:
    last = drain(bridge) or measurements(bridge, 1)[0]
    emulator.drop_measurements(next_n=3)
    readings = [last, *measurements(bridge, 8)]
    assert [g for g in gaps(readings) if g] == [3]
    assert emulator.counters["measurements_dropped"] == 3


def test_a_fraction_of_frames_dropped_adds_up_to_the_seq_gaps_the_host_sees(
    emulator: Emulator, bridge: Bridge
) -> None:
    start = measurements(bridge, 1)
    emulator.drop_measurements(fraction=0.4)
    lossy = measurements(bridge, 25)
    emulator.drop_measurements(fraction=0.0)
    wait_for(lambda: emulator.counters["measurements_dropped"] > 0)
    dropped = emulator.counters["measurements_dropped"]
    readings = start + lossy + measurements(bridge, 3)
    assert sum(gaps(readings)) == dropped
    assert 0 < dropped < len(lossy)


def test_a_welded_relay_is_caught_by_its_truthful_ack(emulator: Emulator, bridge: Bridge) -> None:
    bridge.set_relay(0, True)
    emulator.set_load(Load.RUNNING)
    emulator.stick_relay()
    with pytest.raises(RelayMismatchError, match="energised=True"):
        bridge.set_relay(0, False)
    assert emulator.relay_energised
    assert emulator.counters["relay_commands_ignored"] == 1
    assert measurements(bridge, 6)[-1].irms > 1.0  # the machine can still run: a hazard

    emulator.free_relay()
    bridge.set_relay(0, False)
    assert not emulator.relay_energised


def test_a_board_reset_restarts_seq_and_wh_and_the_host_closes_its_relay_again(
    emulator: Emulator, bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    bridge.set_relay(0, True)
    emulator.set_load(Load.RUNNING)
    before = measurements(bridge, 6)[-1]
    assert before.seq > 5 and before.wh > 0

    caplog.set_level(logging.INFO, logger="firmware_bridge.bridge")
    emulator.reset_board()
    after = measurements(bridge, 1)[0]
    while after.seq > before.seq:  # one taken before the reset may still be queued
        after = measurements(bridge, 1)[0]
    wait_for(lambda: "board firmware emu-1.0" in caplog.text)
    assert after.seq == 1
    assert after.wh < before.wh
    assert emulator.counters["resets"] == 1
    # The board opened every relay at power-up; the host, which still has a session open on
    # it, notices the unasked HELLO and energises the relay again on its next read.
    assert bridge.counters["board_starts"] == 1
    wait_for(lambda: bridge.read(0.1) is not None and emulator.relay_energised)
    assert "board restarted, energising relay 0 again" in caplog.text


def test_a_hung_board_takes_the_link_down_until_it_is_reset(
    emulator: Emulator, bridge: Bridge
) -> None:
    measurements(bridge, 1)
    emulator.hang()
    with pytest.raises(RelayNotAcknowledgedError):
        bridge.set_relay(0, True)
    assert not emulator.relay_energised
    wait_for(lambda: bridge.read(0.1) is None and bridge.counters["silences"] > 0)
    assert not bridge.link_up
    assert bridge.counters["silences"] == 1
    emulator.present_card("04A1B2C3")
    assert bridge.read(0.3) is None  # a hung firmware reads no cards either

    emulator.reset_board()
    readings = measurements(bridge, 2)
    assert readings[0].seq == 1
    assert bridge.link_up
    bridge.set_relay(0, True)
    assert emulator.relay_energised


def test_a_deaf_board_keeps_measuring_but_leaves_relay_commands_unanswered(
    emulator: Emulator, bridge: Bridge
) -> None:
    emulator.listening = False
    with pytest.raises(RelayNotAcknowledgedError, match="after 3 attempts"):
        bridge.set_relay(0, True)
    assert bridge.counters["relay_retries"] == 2
    assert len(measurements(bridge, 3)) == 3
    assert bridge.link_up

    emulator.listening = True
    bridge.set_relay(0, True)
    assert emulator.relay_energised


def test_garbage_on_the_line_is_counted_and_measurements_go_on(
    emulator: Emulator, bridge: Bridge
) -> None:
    first = measurements(bridge, 1)[0]
    emulator.inject_garbage(b"\x00\xfe~~ $M,0,1*ZZZZ\n")
    later = measurements(bridge, 3)
    assert later[0].seq > first.seq
    assert bridge.counters["garbage_bytes"] == 5
    assert bridge.counters["malformed"] == 1


def test_the_fault_settings_refuse_nonsense_naming_the_field(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="fraction"):
        emulator.drop_measurements(fraction=1.5)
    with pytest.raises(ValueError, match="next_n"):
        emulator.drop_measurements(next_n=-1)
