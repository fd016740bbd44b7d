"""15.6: an energy register that wraps or is reset mid-session, on a real gateway and broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_bridge.clock import ScaledClock
from harness.mosquitto import MosquittoServer
from tests.gateway.drivers.fakes.card_reader import FakeCardReader
from tests.gateway.drivers.fakes.pzem004t import ENERGY_TOP_WH
from tests.security.conftest import AttackLog
from tests.security.gateway_floor import (
    GIULIA_CARD,
    MACHINE,
    DrawingPzem,
    Watcher,
    gateway_on_fakes,
)
from tests.waiting import eventually

# The gateway's clock runs 60 times faster than real time: a 50 ms poll is 3 s of work, in which
# a machine may draw the 10 Wh the fake meter adds per poll (12 kW).
SPEED = 60.0
WH_PER_POLL = 10


@pytest.fixture
def watcher(mosquitto: MosquittoServer) -> Iterator[Watcher]:
    """A client watching the machine's badges and sessions."""
    watching = Watcher(mosquitto)
    yield watching
    watching.close()


def _session_across(
    mosquitto: MosquittoServer, watcher: Watcher, spool_dir: Path, meter: DrawingPzem, *,
    mid_session: str,
) -> tuple[float, int, dict[str, int]]:  # fmt: skip
    """Run one session in which the meter does `mid_session`; its energy, what the meter drew."""
    reader = FakeCardReader()
    gateway = gateway_on_fakes(
        mosquitto,
        spool_dir,
        meter=meter,
        reader=reader,
        clock=ScaledClock(SPEED),
        access=({"card": GIULIA_CARD, "member": "giulia"},),
    )
    with gateway:
        assert reader.opened.wait(10)
        eventually(lambda: gateway.counters.get(f"{MACHINE}.samples", 0) > 2)
        with meter.lock:
            reader.present(GIULIA_CARD)
            drawn_before = meter.drawn_wh
        eventually(lambda: gateway.workers[MACHINE].sessions.open_session is not None)
        if mid_session == "reset":
            eventually(lambda: meter.drawn_wh > drawn_before + 10 * WH_PER_POLL)
            with meter.lock:
                meter.energy_wh = 0  # the meter lost power, or was sent its reset command
        eventually(lambda: meter.drawn_wh > drawn_before + 20 * WH_PER_POLL)
        with meter.lock:
            reader.present(GIULIA_CARD)
            drawn = meter.drawn_wh - drawn_before
        eventually(lambda: len(watcher.sessions) == 1, what="the session to be published")
        counters = dict(gateway.counters)
    return watcher.sessions[0].energy_wh, drawn, counters


def test_a_register_wrapping_mid_session_bills_all_the_energy(
    mosquitto: MosquittoServer, watcher: Watcher, tmp_path: Path, attack: AttackLog
) -> None:
    meter = DrawingPzem(energy_wh=ENERGY_TOP_WH - 8 * WH_PER_POLL - 5, wh_per_poll=WH_PER_POLL)
    attack.tried(
        "15.6 meter wrap",
        "a PZEM-004T register passing 9,999,999 Wh back to 0 in the middle of a session",
    )
    energy_wh, drawn_wh, counters = _session_across(
        mosquitto, watcher, tmp_path, meter, mid_session="wrap"
    )
    assert meter.energy_wh < 1_000  # the register did wrap
    # Badge-in and badge-out are decided between two polls: at most one poll's energy each way.
    assert drawn_wh - 2 * WH_PER_POLL <= energy_wh <= drawn_wh + 2 * WH_PER_POLL
    assert counters[f"{MACHINE}.meter.wrapped"] == 1
    assert f"{MACHINE}.meter.reset" not in counters
    attack.held(
        f"the session was booked with {energy_wh:.0f} Wh of the {drawn_wh} Wh drawn,"
        " the wrap added across and counted"
    )


def test_a_register_reset_mid_session_is_not_billed_as_a_wrap(
    mosquitto: MosquittoServer, watcher: Watcher, tmp_path: Path, attack: AttackLog
) -> None:
    meter = DrawingPzem(energy_wh=4_000_000, wh_per_poll=WH_PER_POLL)
    attack.tried(
        "15.6 meter reset",
        "a PZEM-004T register set back to 0 mid-session (power cut, reset command), which"
        " read as a wrap would bill 6,000 kWh",
    )
    energy_wh, drawn_wh, counters = _session_across(
        mosquitto, watcher, tmp_path, meter, mid_session="reset"
    )
    # The one poll's worth drawn between the last reading and the reset is all that is lost.
    assert drawn_wh - 3 * WH_PER_POLL <= energy_wh <= drawn_wh + 2 * WH_PER_POLL
    assert counters[f"{MACHINE}.meter.reset"] == 1
    assert f"{MACHINE}.meter.wrapped" not in counters
    attack.held(
        f"the session was booked with {energy_wh:.0f} Wh of the {drawn_wh} Wh drawn;"
        " the reset was told from a wrap and counted"
    )
