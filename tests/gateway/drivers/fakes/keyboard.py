"""A simulated USB keyboard-wedge reader: key events as evdev delivers them."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

_CODES = {
    "1": 2, "2": 3, "3": 4, "4": 5, "5": 6, "6": 7, "7": 8, "8": 9, "9": 10, "0": 11,
    "A": 30, "B": 48, "C": 46, "D": 32, "E": 18, "F": 33, "G": 34, "\n": 28,
}  # fmt: skip
_EV_SYN, _EV_KEY, _EV_MSC, _LEFT_SHIFT = 0x00, 0x01, 0x04, 42


@dataclass(frozen=True)
class FakeEvent:
    """One input event."""

    type: int
    code: int
    value: int


class FakeWedge:
    """The reader's event device: `read_one()`, `grab()`, `ungrab()`, `close()`."""

    def __init__(self) -> None:
        self.grabbed = False
        self.closed = False
        self._events: deque[FakeEvent] = deque()

    def type_text(self, text: str) -> None:
        """Type characters as the wedge does: scan code, key down, SYN, key up, SYN per key."""
        for char in text:
            upper = char.isalpha()
            if upper:
                self._key(_LEFT_SHIFT, 1)
            self._key(_CODES[char.upper()], 1)
            self._key(_CODES[char.upper()], 0)
            if upper:
                self._key(_LEFT_SHIFT, 0)

    def _key(self, code: int, value: int) -> None:
        self._events.append(FakeEvent(_EV_MSC, 4, 0x70000 + code))
        self._events.append(FakeEvent(_EV_KEY, code, value))
        self._events.append(FakeEvent(_EV_SYN, 0, 0))

    def read_one(self) -> FakeEvent | None:
        """The next event, or None."""
        return self._events.popleft() if self._events else None

    def grab(self) -> None:
        """Take the device exclusively."""
        if self.grabbed:
            raise OSError(16, "Device or resource busy")
        self.grabbed = True

    def ungrab(self) -> None:
        """Give it back."""
        self.grabbed = False

    def close(self) -> None:
        """Mark it closed."""
        self.closed = True
