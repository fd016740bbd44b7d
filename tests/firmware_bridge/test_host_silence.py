"""Protocol v1's keep-alive: a living host keeps its relays, a dead one has them opened."""

from __future__ import annotations

from firmware_bridge.bridge import Bridge
from firmware_bridge.emulator import Emulator
from tests.waiting import eventually


def test_a_host_that_keeps_pinging_keeps_its_relay_energised() -> None:
    with Emulator("drill-press", sample_period_s=0.2, host_silence_open_s=1.0) as board:
        bridge = Bridge(board.port, keepalive_s=0.3)
        bridge.open()
        try:
            bridge.set_relay(0, True)
            for _ in range(15):  # 3 s of a gateway reading, three times the board's patience
                bridge.read(0.2)
            assert board.relay_energised
            assert bridge.counters.get("device_errors", 0) == 0
        finally:
            bridge.close()


def test_a_silent_host_has_the_board_open_its_relays_and_say_so() -> None:
    with Emulator("drill-press", sample_period_s=0.2, host_silence_open_s=1.0) as board:
        bridge = Bridge(board.port)
        bridge.open()
        bridge.set_relay(0, True)
        bridge.close()  # the gateway dies: nothing more reaches the board
        eventually(lambda: not board.relay_energised, timeout=5, what="the guard to open the relay")
        assert board.counters["errors_sent"] >= 1
