"""The emulated board: physics by its clock, what its readings hold, how it answers the host."""

from __future__ import annotations

from typing import TypeVar

import pytest
import serial

from firmware_bridge import (
    PROFILES,
    Decoder,
    DeviceError,
    Emulator,
    Hello,
    Load,
    Measurement,
    RelayAck,
    encode,
)
from firmware_bridge.clock import ManualClock
from firmware_bridge.frames import Ping
from tests.firmware_bridge.conftest import line, wait_for

SLOW = 3600.0  # a sample period long enough that no sample is drawn during the test


def close_relay(board: Emulator) -> None:
    """Close the board's relay the way the host does: a RELAY frame on its serial port."""
    with serial.Serial(board.port, 115200, timeout=0.05) as port:
        port.write(line("RELAY,0,CLOSE,1"))
        wait_for(lambda: board.relay_energised)


def test_running_time_counts_only_while_running_with_the_relay_energised() -> None:
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


def test_energy_is_the_profiles_real_power_over_the_time_it_ran() -> None:
    clock = ManualClock()
    lathe = PROFILES["lathe"]
    with Emulator(lathe, sample_period_s=SLOW, clock=clock, seed=3) as board:
        close_relay(board)
        board.set_load(Load.RUNNING)
        clock.advance(3600)
        assert board.energy_wh == pytest.approx(lathe.nominal_watts(Load.RUNNING), rel=0.05)


def test_no_current_flows_with_the_relay_open() -> None:
    clock = ManualClock()
    with Emulator("cnc-router", sample_period_s=SLOW, clock=clock, seed=5) as board:
        board.set_load(Load.RUNNING)
        clock.advance(3600)
        assert board.energy_wh == 0
        assert board.running_seconds == 0


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
    assert not emulator.relay_energised
    assert emulator.counters["errors_sent"] == 1


def test_the_board_answers_relay_with_ack_and_ping_with_hello(emulator: Emulator) -> None:
    with serial.Serial(emulator.port, 115200, timeout=0.05) as port:
        decoder = Decoder()
        port.write(line("RELAY,0,CLOSE,41"))
        acks = _frames_from(port, decoder, RelayAck)
        port.write(encode(Ping()))
        hellos = _frames_from(port, decoder, Hello)
    assert acks[0] == RelayAck(channel=0, closed=True, seq=41)
    assert emulator.relay_energised
    assert hellos[0].protocol == 1


def test_the_board_refuses_a_relay_it_does_not_have(emulator: Emulator) -> None:
    with serial.Serial(emulator.port, 115200, timeout=0.05) as port:
        port.write(line("RELAY,3,CLOSE,9"))
        errors = _frames_from(port, Decoder(), DeviceError)
    assert errors[0] == DeviceError("BAD_CHANNEL", "relay 3 seq 9")


def measurements(port: serial.Serial, count: int) -> list[Measurement]:
    """The next `count` M frames from a raw port."""
    decoder = Decoder()
    found: list[Measurement] = []

    def enough() -> bool:
        found.extend(
            f for f in decoder.feed(port.read(port.in_waiting or 1)) if isinstance(f, Measurement)
        )
        return len(found) >= count

    wait_for(enough, timeout=10.0)
    return found[:count]


def test_a_laser_reading_averages_its_pulses_over_the_sample_period() -> None:
    laser = PROFILES["laser-cutter"]
    with (
        Emulator(laser, sample_period_s=0.5, seed=2) as board,
        serial.Serial(board.port, 115200, timeout=0.05) as port,
    ):
        port.write(line("RELAY,0,CLOSE,1"))
        wait_for(lambda: board.relay_energised)
        board.set_load(Load.RUNNING)
        readings = measurements(port, 6)[2:]  # past the reading that held the chiller's start
    assert all(r.irms > laser.idle_amps + 1.5 for r in readings)
    # Each reading spans the time since the one before: 0.5 s of 50 Hz on schedule, and a reading
    # a busy machine makes late spans more, the next one less (the schedule does not slip).
    assert sum(r.cycles for r in readings) == pytest.approx(25 * len(readings), abs=5)


def test_a_laser_read_cycle_by_cycle_shows_its_tube_switching_on_and_off() -> None:
    laser = PROFILES["laser-cutter"]
    with (
        Emulator(laser, sample_period_s=0.02, seed=2) as board,
        serial.Serial(board.port, 115200, timeout=0.05) as port,
    ):
        port.write(line("RELAY,0,CLOSE,1"))
        wait_for(lambda: board.relay_energised)
        board.set_load(Load.RUNNING)
        readings = [r.irms for r in measurements(port, 80)[20:]]
    assert min(readings) < laser.idle_amps * 1.1  # between bursts: chiller and fans only
    assert max(readings) > laser.running_amps


def test_a_lathe_switched_on_shows_its_inrush_and_then_idles() -> None:
    lathe = PROFILES["lathe"]
    with (
        Emulator(lathe, sample_period_s=0.1, seed=4) as board,
        serial.Serial(board.port, 115200, timeout=0.05) as port,
    ):
        port.write(line("RELAY,0,CLOSE,1"))
        wait_for(lambda: board.relay_energised)
        board.set_load(Load.IDLE)
        readings = [r.irms for r in measurements(port, 12)]
    assert max(readings[:5]) > 3 * lathe.idle_amps
    assert readings[-1] == pytest.approx(lathe.idle_amps, rel=0.15)


def test_closing_the_relay_on_a_machine_left_switched_on_starts_it_without_inrush() -> None:
    lathe = PROFILES["lathe"]
    with (
        Emulator(lathe, sample_period_s=0.05, seed=4) as board,
        serial.Serial(board.port, 115200, timeout=0.05) as port,
    ):
        board.set_load(Load.IDLE)
        port.write(line("RELAY,0,CLOSE,1"))
        wait_for(lambda: board.relay_energised)
        readings = [r.irms for r in measurements(port, 10)]
    assert max(readings) < 1.2 * lathe.idle_amps


def test_the_wh_counter_in_a_measurement_is_the_energy_the_machine_drew() -> None:
    clock = ManualClock()
    with (
        Emulator("drill-press", sample_period_s=0.05, clock=clock, seed=6) as board,
        serial.Serial(board.port, 115200, timeout=0.05) as port,
    ):
        port.write(line("RELAY,0,CLOSE,1"))
        wait_for(lambda: board.relay_energised)
        board.set_load(Load.RUNNING)
        clock.advance(600)
        decoder = Decoder()
        after: list[Measurement] = []

        def counted() -> bool:
            data = port.read(port.in_waiting or 1)
            after.extend(f for f in decoder.feed(data) if isinstance(f, Measurement) and f.wh > 0)
            return bool(after)

        wait_for(counted)
        assert after[0].wh == pytest.approx(board.energy_wh, abs=0.001)
        assert after[0].cycles == 600 * 50  # the whole window since the reading before
