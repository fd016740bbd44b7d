"""The officina MCU on a serial port (protocol v1): current sensor, card reader and relay at once.

`Driver` owns the one `firmware_bridge.Bridge` and offers a view per role: `current()`,
`reader()` and `relay()`. Measurements and card reads arrive interleaved on the one line, so
each view keeps what it finds for the other: a card read that arrives while the current view
waits for a measurement is kept for the reader view, and the other way round. The bridge opens
with the first view opened and closes with the last one closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import (
    BridgeError,
    DeviceNotRespondingError,
    LinkError,
)
from firmware_bridge.frames import CardRead, Measurement
from gateway.drivers.base import (
    CardReading,
    CurrentReading,
    DeviceAbsentError,
    DriverError,
    UnsupportedError,
)
from gateway.drivers.faults import Tally
from gateway.energy import RegisterRange

logger = logging.getLogger(__name__)

Channel = Annotated[int, Field(ge=0, le=15)]
ENERGY_REGISTER = RegisterRange(wraps_at_wh=None)
"""The board counts milliwatt-hours in 64 bits, which no machine fills; a board reset zeroes it."""

CARD_WAIT_S = 1.0  # how long the reader view waits for a card before answering None
_KEPT_MEASUREMENTS = 64
_KEPT_CARDS = 16
_DRAIN_LIMIT = 64  # frames the reader view takes per call, so a chatty board cannot hold it


class Config(BaseModel):
    """A machine served by an officina MCU on a serial port."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    driver: Literal["mcu"]
    port: str
    baudrate: int = 115200
    channel: Channel = 0
    relay_channel: Channel = 0
    reader: Channel = 0
    read_timeout_s: Annotated[float, Field(gt=0, le=30, allow_inf_nan=False)] = 2.0


class Driver:
    """One MCU board; its roles are the views `current()`, `reader()` and `relay()`."""

    def __init__(self, config: Config, *, bus: Bridge | None = None) -> None:
        self.config = config
        self._bridge = bus if bus is not None else Bridge(config.port, baudrate=config.baudrate)
        self._users = 0
        self._lock = threading.Lock()
        self._card_kept = threading.Condition(self._lock)
        self._measurements: deque[Measurement] = deque()
        self._cards: deque[CardRead] = deque()
        self._tally = Tally(f"mcu {config.port}", logger)
        self._current = McuCurrentSensor(self)
        self._reader = McuCardReader(self)
        self._relay = McuRelay(self)

    @property
    def counters(self) -> Mapping[str, int]:
        """The bridge's counters (`bad_crc`, `malformed`, …) and `measurements`, `cards`, …"""
        return MappingProxyType(dict(self._bridge.counters) | dict(self._tally.snapshot))

    @property
    def bridge(self) -> Bridge:
        """The bridge to the board."""
        return self._bridge

    def current(self) -> McuCurrentSensor:
        """The board as the machine's current sensor."""
        return self._current

    def reader(self) -> McuCardReader:
        """The board as the machine's card reader."""
        return self._reader

    def relay(self) -> McuRelay:
        """The board as the machine's interlock relay."""
        return self._relay

    def open(self) -> None:
        """Open the bridge for one more user; the first waits for the board's HELLO."""
        with self._lock:
            if self._users == 0:
                self._open_bridge()
            self._users += 1

    def close(self) -> None:
        """Release one user; the last closes the bridge."""
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users == 0:
                self._bridge.close()
                self._measurements.clear()
                self._cards.clear()

    def _open_bridge(self) -> None:
        port = self.config.port
        try:
            self._bridge.open()
        except (LinkError, DeviceNotRespondingError) as err:
            raise DeviceAbsentError(f"mcu {port}: {err}") from err
        except BridgeError as err:
            raise DriverError(f"mcu {port}: {err}") from err
        hello = self._bridge.hello
        wanted = max(self.config.channel, self.config.relay_channel)
        if hello is not None and wanted >= hello.channels:
            self._bridge.close()
            raise UnsupportedError(
                f"mcu {port}: channel {wanted} asked, the board has {hello.channels}"
            )

    def next_measurement(self, timeout_s: float) -> Measurement | None:
        """The next measurement of this machine's channel, waiting at most `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if self._measurements:
                    return self._measurements.popleft()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._take(remaining)

    def next_card(self, wait_s: float = 0.0) -> CardRead | None:
        """A card read of this machine's reader kept or arrived since the last call, or None.

        With `wait_s`, waits that long for one the current sensor's reads come across, so a
        reader poller needs no busy loop of its own.
        """
        for _ in range(_DRAIN_LIMIT):
            with self._lock:
                if self._cards:
                    return self._cards.popleft()
            if not self._take(0.0):
                break
        if wait_s <= 0:
            return None
        with self._card_kept:
            self._card_kept.wait_for(lambda: bool(self._cards), timeout=wait_s)
            return self._cards.popleft() if self._cards else None

    def _take(self, timeout_s: float) -> bool:
        """Take one frame from the bridge and keep it for its role; False when none came."""
        try:
            frame = self._bridge.read(timeout_s)
        except BridgeError as err:
            raise DriverError(f"mcu {self.config.port}: {err}") from err
        if frame is None:
            return False
        with self._lock:
            if isinstance(frame, Measurement):
                self._keep_measurement(frame)
            else:
                self._keep_card(frame)
        return True

    def _keep_measurement(self, frame: Measurement) -> None:
        if frame.channel != self.config.channel:
            self._tally.count("other_channel")
            return
        if len(self._measurements) >= _KEPT_MEASUREMENTS:
            self._measurements.popleft()
            self._tally.reject("measurement_overflow", "nobody reads the current: oldest dropped")
        self._tally.count("measurements")
        self._measurements.append(frame)

    def _keep_card(self, frame: CardRead) -> None:
        if frame.reader != self.config.reader:
            self._tally.count("other_reader")
            return
        if len(self._cards) >= _KEPT_CARDS:
            self._cards.popleft()
            self._tally.reject("card_overflow", "nobody reads the cards: oldest dropped")
        self._tally.count("cards")
        self._cards.append(frame)
        self._card_kept.notify_all()


class _View:
    """A role of the board: opening it opens the board for one more user."""

    def __init__(self, board: Driver) -> None:
        self.board = board
        self._open = False

    @property
    def counters(self) -> Mapping[str, int]:
        """The board's counters."""
        return self.board.counters

    def open(self) -> None:
        """Open the board for this role."""
        if not self._open:
            self.board.open()
            self._open = True

    def close(self) -> None:
        """Release the board for this role."""
        if self._open:
            self._open = False
            self.board.close()


class McuCurrentSensor(_View):
    """The board's measurements of this machine's channel, as a CurrentSensor."""

    def read(self) -> CurrentReading | None:
        """The next measurement, waiting at most `read_timeout_s`; None when none came."""
        frame = self.board.next_measurement(self.board.config.read_timeout_s)
        if frame is None:
            return None
        return CurrentReading(
            amps=frame.irms,
            volts=frame.vrms,
            watts=frame.watts,
            meter_wh=frame.wh,
            meter_range=ENERGY_REGISTER,
        )


class McuCardReader(_View):
    """The board's card reads of this machine's reader, as a CardReader."""

    def read(self) -> CardReading | None:
        """A card the board reported since the last call, or None after `CARD_WAIT_S`."""
        frame = self.board.next_card(CARD_WAIT_S)
        return None if frame is None else CardReading(uid=frame.uid)


class McuRelay(_View):
    """The board's relay of this machine, as a RelayOutput."""

    def open(self) -> None:
        """Open the board and make sure the relay is de-energised (the machine locked)."""
        super().open()
        try:
            self.set(False)
        except DriverError:
            self.close()
            raise

    def set(self, energised: bool) -> None:
        """Energise or de-energise the relay; DriverError when the board does not acknowledge."""
        channel = self.board.config.relay_channel
        try:
            # The board's protocol says CLOSE for its contact: closed when energised.
            self.board.bridge.set_relay(channel, energised)
        except BridgeError as err:
            raise DriverError(f"mcu {self.board.config.port}: relay {channel}: {err}") from err

    def close(self) -> None:
        """De-energise the relay (fail safe), then release the board."""
        if not self._open:
            return
        try:
            self.set(False)
        except DriverError as err:
            logger.error("%s: relay left in an unknown state: %s", self.board.config.port, err)
        finally:
            super().close()
