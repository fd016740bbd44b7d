"""USB keyboard-wedge card readers: the card's number typed as keys and ENTER, read through evdev.

The reader is grabbed exclusively, so the card number is not also typed into whatever has focus.
Many wedges type the UID as ten decimal digits (the 32-bit number); `format = "decimal"` turns
that into hex, `format = "hex"` takes hex digits as typed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from firmware_bridge.clock import Clock, SystemClock
from gateway.drivers.base import CardReading, DeviceAbsentError, DriverError
from gateway.drivers.faults import GarbageError, Tally
from gateway.drivers.rfid.presence import Presence

logger = logging.getLogger(__name__)

EV_KEY = 0x01
KEY_DOWN = 1
KEY_ENTER = 28
KEY_KPENTER = 96
_MAX_DIGITS = 32

# Linux input key codes (<linux/input-event-codes.h>): a stable kernel ABI, so no evdev import.
KEYS: Mapping[int, str] = MappingProxyType(
    {
        2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6", 8: "7", 9: "8", 10: "9", 11: "0",
        79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9", 82: "0",
        30: "A", 48: "B", 46: "C", 32: "D", 18: "E", 33: "F",
    }
)  # fmt: skip
"""Digits (top row and keypad) and the hex letters, by key code."""
_SHIFT = frozenset({42, 54})


class InputEvent(Protocol):
    """The fields of an `evdev.InputEvent` the driver reads."""

    @property
    def type(self) -> int:
        """Event type (EV_KEY for keys)."""
        ...

    @property
    def code(self) -> int:
        """Key code."""
        ...

    @property
    def value(self) -> int:
        """1 down, 0 up, 2 repeat."""
        ...


class InputDevice(Protocol):
    """The part of `evdev.InputDevice` the driver uses; a fake wedge offers the same."""

    def read_one(self) -> InputEvent | None:
        """The next event, or None when there is none now."""
        ...

    def grab(self) -> None:
        """Take the device for this process alone."""
        ...

    def ungrab(self) -> None:
        """Give the device back."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


class Config(BaseModel):
    """A keyboard-wedge reader, best named by its stable `/dev/input/by-id/…-event-kbd` path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    driver: Literal["keyboard"]
    device: str
    format: Literal["decimal", "hex"] = "decimal"
    release_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0


def uid_from_line(line: str, number_format: Literal["decimal", "hex"]) -> str:
    """The card's UID in upper-case hex from a typed line, or GarbageError."""
    if not line:
        raise GarbageError("empty_line", "ENTER without a card number")
    if number_format == "decimal":
        if not line.isdigit():
            raise GarbageError("bad_line", f"{line!r} is not a decimal number")
        value = int(line)
        if value >= 1 << 128:
            raise GarbageError("bad_line", f"{line!r} is more than 16 bytes")
        digits = max(8, (value.bit_length() + 7) // 8 * 2)
        return f"{value:0{digits}X}"
    if len(line) % 2:
        raise GarbageError("bad_line", f"{line!r}: an odd number of hex digits")
    return line


class Driver:
    """A keyboard-wedge reader: `read()` takes the keys typed so far and returns a finished card."""

    def __init__(
        self, config: Config, *, bus: InputDevice | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._bus = bus
        self._device: InputDevice | None = None
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._presence = Presence(config.release_s)
        self._line: list[str] = []
        self._spoiled: str | None = None  # why the line being typed will be thrown away
        self._tally = Tally(f"keyboard {config.device}", logger)

    @property
    def counters(self) -> Mapping[str, int]:
        """`reads`, `cards`, and rejects: `bad_key`, `bad_line`, `overlong`, `empty_line`."""
        return self._tally.snapshot

    def open(self) -> None:
        """Open the input device and grab it, so its keys go nowhere else."""
        if self._device is not None:
            return
        device = self._bus if self._bus is not None else self._open_evdev()
        try:
            device.grab()
        except OSError as err:
            if self._bus is None:
                device.close()
            raise DriverError(f"keyboard {self.config.device}: cannot grab: {err}") from err
        self._device = device
        self._line.clear()
        self._spoiled = None

    def read(self) -> CardReading | None:
        """A card whose number was typed and ENTERed since the last call, or None; at once."""
        device = self._device
        if device is None:
            raise DriverError(f"keyboard {self.config.device}: not open")
        found: CardReading | None = None
        while found is None:
            try:
                event = device.read_one()
            except BlockingIOError:
                return None
            except OSError as err:
                raise DriverError(f"keyboard {self.config.device}: read failed: {err}") from err
            if event is None:
                return None
            if event.type == EV_KEY and event.value == KEY_DOWN:
                found = self._key(event.code)
        return found

    def close(self) -> None:
        """Give the device back and release it."""
        device, self._device = self._device, None
        if device is None:
            return
        try:
            device.ungrab()
        except OSError as err:
            logger.debug("keyboard %s: ungrab: %s", self.config.device, err)
        if self._bus is None:
            device.close()

    def _open_evdev(self) -> InputDevice:
        import evdev  # type: ignore[import-not-found,import-untyped,unused-ignore]

        try:
            device: InputDevice = evdev.InputDevice(self.config.device)
        except OSError as err:
            raise DeviceAbsentError(f"keyboard {self.config.device}: {err.strerror}") from err
        return device

    def _key(self, code: int) -> CardReading | None:
        if code in (KEY_ENTER, KEY_KPENTER):
            return self._enter()
        if code in _SHIFT:
            return None
        char = KEYS.get(code)
        if self._spoiled is not None:
            return None
        if char is None or (self.config.format == "decimal" and not char.isdigit()):
            self._spoiled = f"key code {code} is not a {self.config.format} digit"
            self._tally.reject("bad_key", self._spoiled)
        elif len(self._line) >= _MAX_DIGITS:
            self._spoiled = f"more than {_MAX_DIGITS} digits before ENTER"
            self._tally.reject("overlong", self._spoiled)
        else:
            self._line.append(char)
        return None

    def _enter(self) -> CardReading | None:
        line, spoiled = "".join(self._line), self._spoiled
        self._line.clear()
        self._spoiled = None
        if spoiled is not None:
            return None  # counted when the bad key came
        try:
            uid = uid_from_line(line, self.config.format)
        except GarbageError as err:
            self._tally.reject_error(err)
            return None
        self._tally.count("reads")
        if not self._presence.seen(uid, self._clock.monotonic()):
            return None
        self._tally.count("cards")
        return CardReading(uid=uid)
