"""A wiring check on site: click each relay, show live amps and every card the reader sees."""

from __future__ import annotations

import queue
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
        seen: queue.Queue[CurrentReading | CardReading | DriverError] = queue.Queue()
        halt = threading.Event()
        readers = [
            threading.Thread(target=_poll, args=(read, seen, halt), daemon=True)
            for read in (parts.current.read, parts.reader.read if parts.reader else None)
            if read is not None
        ]
        for thread in readers:
            thread.start()
        deadline = time.monotonic() + seconds
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    item = seen.get(timeout=left)
                except queue.Empty:
                    break
                if isinstance(item, DriverError):
                    raise item
                report(_describe(machine.id, item, site_key))
        finally:
            halt.set()
            for thread in readers:
                thread.join(5.0)
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


def _poll(
    read: Callable[[], CurrentReading | CardReading | None],
    seen: queue.Queue[CurrentReading | CardReading | DriverError],
    halt: threading.Event,
) -> None:
    while not halt.is_set():
        try:
            item = read()
        except DriverError as err:
            seen.put(err)
            return
        if item is not None:
            seen.put(item)
        else:
            halt.wait(0.05)


def _describe(machine: str, item: CurrentReading | CardReading, site_key: bytes) -> WiringEvent:
    if isinstance(item, CurrentReading):
        watts = f", {item.watts:.0f} W" if item.watts is not None else ""
        return WiringEvent(machine, "current", f"{item.amps:.3f} A{watts}")
    hashed = card_hash(item.uid, site_key)[:12]
    return WiringEvent(machine, "card", f"…{item.uid[-4:]} (hash {hashed}…)")


def _click(machine: str, set_output: Callable[[bool], None], report: Report) -> bool:
    try:
        set_output(True)
        report(WiringEvent(machine, "relay", "energised"))
        threading.Event().wait(RELAY_CLICK_S)
        set_output(False)
        report(WiringEvent(machine, "relay", "de-energised"))
    except DriverError as err:
        report(WiringEvent(machine, "failed", f"relay: {err}"))
        return False
    return True
