"""The gateway's driver: HELLO checked, relay commands acknowledged, readings passed on."""

from __future__ import annotations

import time

import pytest

from firmware_bridge import (
    Bridge,
    CardRead,
    Emulator,
    Measurement,
    ProtocolMismatchError,
    Reading,
    RelayNotAcknowledgedError,
)
from firmware_bridge.profiles import PROFILES
from tests.firmware_bridge.conftest import FAST_SAMPLE_S


def next_reading(bridge: Bridge, kind: type[Reading], *, timeout: float = 3.0) -> Reading:
    """The next reading of `kind`; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        reading = bridge.read(remaining)
        if isinstance(reading, kind):
            return reading
    pytest.fail(f"no {kind.__name__} within {timeout} s")


def fresh_measurement(bridge: Bridge) -> Measurement:
    """A measurement taken after everything asked so far: older ones are skipped."""
    for _ in range(4):
        next_reading(bridge, Measurement)
    reading = next_reading(bridge, Measurement)
    assert isinstance(reading, Measurement)
    return reading


def test_closing_the_relay_lets_the_running_machine_draw_current(emulator: Emulator) -> None:
    running_amps = PROFILES["lathe"].running_amps
    with Bridge(emulator.port) as bridge:
        assert bridge.hello is not None and bridge.hello.protocol == 1
        emulator.set_load("running")
        assert fresh_measurement(bridge).irms < 0.1  # interlock open: nothing flows
        bridge.set_relay(0, True)
        assert emulator.relay_energised
        flowing = fresh_measurement(bridge)
        assert flowing.irms == pytest.approx(running_amps, rel=0.2)
        assert flowing.watts > 500
        bridge.set_relay(0, False)
        assert not emulator.relay_energised
        assert fresh_measurement(bridge).irms < 0.1


def test_a_presented_card_arrives_as_a_card_read(emulator: Emulator) -> None:
    with Bridge(emulator.port) as bridge:
        emulator.present_card("04a1b2c3d4e5f6")
        assert next_reading(bridge, CardRead) == CardRead("04A1B2C3D4E5F6")


def test_a_board_speaking_another_protocol_version_is_refused() -> None:
    with Emulator("drill-press", sample_period_s=FAST_SAMPLE_S, protocol=2, seed=1) as board:
        bridge = Bridge(board.port)
        with pytest.raises(ProtocolMismatchError, match="v2"):
            bridge.open()


def test_a_relay_command_without_ack_is_retried_then_raises(emulator: Emulator) -> None:
    with Bridge(emulator.port, ack_timeout_s=0.1, relay_attempts=3) as bridge:
        emulator.listening = False
        with pytest.raises(RelayNotAcknowledgedError, match="relay 0"):
            bridge.set_relay(0, True)
        assert bridge.counters["relay_retries"] == 2
        assert bridge.counters["relay_failures"] == 1
        assert not emulator.relay_energised


def test_a_silent_board_is_reported_as_link_down_and_back_up(emulator: Emulator) -> None:
    with Bridge(emulator.port, silence_s=0.3) as bridge:
        next_reading(bridge, Measurement)
        emulator.unplug()
        assert bridge.read(0.8) is None
        assert not bridge.link_up
        assert bridge.counters["silences"] == 1
        emulator.replug()
        next_reading(bridge, Measurement)
        assert bridge.link_up
        assert bridge.counters["reconnects"] == 1
