"""A wiring check on site: click each relay, show live amps and every card the reader sees."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from contract import card_hash
from gateway.config import MachineConfig
from gateway.drivers import MachineDrivers, build_machine
from gateway.drivers.base import CardReading, CurrentReading, DriverError

RELAY_CLICK_S = 0.5


@dataclass(frozen=True, slots=True)
class WiringEvent:
    """One thing the check saw: a relay click, a current reading, a card, or a failure."""

    machine: str
    what: str
    detail: str


Report = Callable[[WiringEvent], None]


def check_machine(
    machine: MachineConfig,
    *,
    site_key: bytes,
    seconds: float,
    report: Report,
    drivers: MachineDrivers | None = None,
) -> bool:
    """Exercise one machine's hardware for `seconds`; False if any part failed."""
    parts = drivers or build_machine(
        current=machine.current, reader=machine.reader, relay=machine.relay, warning=machine.warning
    )
    ok = True
    opened: list[object] = []
    try:
        for output in (parts.relay, parts.warning):
            if output is not None:
                output.open()
                opened.append(output)
                ok &= _click(machine.id, output.set, report)
        parts.current.open()
        opened.append(parts.current)
        if parts.reader is not None:
            parts.reader.open()
            opened.append(parts.reader)
        deadline = time.monotonic() + seconds
        pause = threading.Event()
        while time.monotonic() < deadline:
            reading = parts.current.read()
            if isinstance(reading, CurrentReading):
                watts = f", {reading.watts:.0f} W" if reading.watts is not None else ""
                report(WiringEvent(machine.id, "current", f"{reading.amps:.3f} A{watts}"))
            card = parts.reader.read() if parts.reader is not None else None
            if isinstance(card, CardReading):
                report(
                    WiringEvent(
                        machine.id,
                        "card",
                        f"…{card.uid[-4:]} (hash {card_hash(card.uid, site_key)[:12]}…)",
                    )
                )
            if reading is None:
                pause.wait(0.05)
    except DriverError as err:
        report(WiringEvent(machine.id, "failed", str(err)))
        ok = False
    finally:
        for part in reversed(opened):
            close = getattr(part, "close", None)
            if close is not None:
                try:
                    close()
                except DriverError as err:
                    report(WiringEvent(machine.id, "failed", f"closing: {err}"))
    return ok


def _click(machine: str, set_output: Callable[[bool], None], report: Report) -> bool:
    try:
        set_output(True)
        report(WiringEvent(machine, "relay", "closed"))
        threading.Event().wait(RELAY_CLICK_S)
        set_output(False)
        report(WiringEvent(machine, "relay", "open"))
    except DriverError as err:
        report(WiringEvent(machine, "failed", f"relay: {err}"))
        return False
    return True
