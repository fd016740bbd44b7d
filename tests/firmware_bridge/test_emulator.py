"""The emulated board: physics by its clock, machine profiles, and how it answers the host."""

from __future__ import annotations

import random
from typing import TypeVar

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import (
    PROFILES,
    Decoder,
    DeviceError,
    Emulator,
    Hello,
    Load,
    RelayAck,
    encode,
    machine_profile,
)
from firmware_bridge.frames import Ping
from tests.firmware_bridge.conftest import ManualClock, line, wait_for

SLOW = 3600.0  # a sample period long enough that no sample is drawn during the test


def close_relay(board: Emulator) -> None:
    """Close the board's relay the way the host does: a RELAY frame on its serial port."""
    with serial.Serial(board.port, 115200, timeout=0.05) as port:
        port.write(line("RELAY,0,CLOSE,1"))
        wait_for(lambda: board.relay_closed)


def test_running_time_counts_only_while_running_with_the_relay_closed() -> None:
    clock = ManualClock()
    with Emulator("lathe", sample_period_s=SLOW, clock=clock, seed=1) as board:
        board.set_load(Load.RUNNING)
        clock.advance(30)  # relay still open: the machine cannot run
        assert board.running_seconds == 0
        close_relay(board)
        clock.advance(60)
        board.set_load("idle")
        clock.advance(45)
        board.set_load("RUNNING")
        clock.advance(15)
        assert board.running_seconds == pytest.approx(75)


def test_energy_integrates_volts_times_amps_times_power_factor() -> None:
    clock = ManualClock()
    lathe = PROFILES["lathe"]
    with Emulator(lathe, sample_period_s=SLOW, clock=clock, seed=3) as board:
        close_relay(board)
        board.set_load(Load.RUNNING)
        clock.advance(3600)
        nominal = 230 * lathe.running_amps * lathe.running_pf
        assert board.energy_wh == pytest.approx(nominal, rel=0.15)


def test_no_current_flows_with_the_relay_open() -> None:
    clock = ManualClock()
    with Emulator("cnc-router", sample_period_s=SLOW, clock=clock, seed=5) as board:
        board.set_load(Load.RUNNING)
        clock.advance(3600)
        assert board.energy_wh < 5  # the clamp's own noise, not a 2 kW spindle
        assert board.running_seconds == 0


@given(st.sampled_from(sorted(PROFILES)), st.sampled_from(list(Load)), st.integers(0, 2**32))
def test_current_is_never_negative(name: str, load: Load, seed: int) -> None:
    rng = random.Random(seed)
    profile = PROFILES[name]
    assert all(profile.current(load, seconds_in_state=0, rng=rng) >= 0 for _ in range(50))


def test_every_profile_idles_below_its_running_current() -> None:
    assert {"lathe", "cnc-router", "laser-cutter", "drill-press"} <= set(PROFILES)
    for profile in PROFILES.values():
        assert 0 < profile.idle_amps < profile.running_amps < 16  # a 16 A socket


def test_an_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown machine 'loom'.*lathe"):
        machine_profile("loom")


def test_an_unknown_load_is_refused_naming_the_field() -> None:
    with (
        Emulator("lathe", sample_period_s=SLOW, seed=1) as board,
        pytest.raises(ValueError, match="load"),
    ):
        board.set_load("spinning")


F = TypeVar("F")


def _frames_from(port: serial.Serial, decoder: Decoder, wanted: type[F]) -> list[F]:
    """Frames of type `wanted` read from a raw port until one arrives."""
    found: list[F] = []

    def arrived() -> bool:
        data = port.read(port.in_waiting or 1)
        found.extend(f for f in decoder.feed(data) if isinstance(f, wanted))
        return bool(found)

    wait_for(arrived)
    return found


def test_the_board_answers_a_bad_checksum_with_err_and_leaves_the_relay_alone(
    emulator: Emulator,
) -> None:
    with serial.Serial(emulator.port, 115200, timeout=0.05) as port:
        port.write(line("RELAY,0,CLOSE,1", crc="0000"))
        errors = _frames_from(port, Decoder(), DeviceError)
    assert errors[0].code == "BAD_CRC"
    assert not emulator.relay_closed
    assert emulator.counters["errors_sent"] == 1


def test_the_board_answers_relay_with_ack_and_ping_with_hello(emulator: Emulator) -> None:
    with serial.Serial(emulator.port, 115200, timeout=0.05) as port:
        decoder = Decoder()
        port.write(line("RELAY,0,CLOSE,41"))
        acks = _frames_from(port, decoder, RelayAck)
        port.write(encode(Ping()))
        hellos = _frames_from(port, decoder, Hello)
    assert acks[0] == RelayAck(channel=0, closed=True, seq=41)
    assert emulator.relay_closed
    assert hellos[0].protocol == 1


def test_the_board_refuses_a_relay_it_does_not_have(emulator: Emulator) -> None:
    with serial.Serial(emulator.port, 115200, timeout=0.05) as port:
        port.write(line("RELAY,3,CLOSE,9"))
        errors = _frames_from(port, Decoder(), DeviceError)
    assert errors[0] == DeviceError("BAD_CHANNEL", "relay 3 seq 9")
