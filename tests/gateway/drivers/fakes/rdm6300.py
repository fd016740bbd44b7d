"""A simulated RDM6300 on a serial port: frames repeat every `repeat_s` while a card is held."""

from __future__ import annotations

from firmware_bridge.clock import ManualClock


def rdm6300_frame(uid: str, *, checksum: int | None = None) -> bytes:
    """The 14-byte frame for a 10-hex-digit EM4100 UID; `checksum` overrides the XOR."""
    data = bytes.fromhex(uid)
    computed = 0
    for byte in data:
        computed ^= byte
    check = computed if checksum is None else checksum
    return b"\x02" + uid.upper().encode("ascii") + f"{check:02X}".encode("ascii") + b"\x03"


class FakeRdm6300:
    """The reader's UART as pyserial shows it: `in_waiting`, `read(n)`, `close()`."""

    def __init__(self, clock: ManualClock, *, repeat_s: float = 0.1) -> None:
        self.clock = clock
        self.repeat_s = repeat_s
        self.closed = False
        self._pending = bytearray()
        self._card: str | None = None
        self._next_frame = 0.0

    def hold(self, uid: str) -> None:
        """Hold a card in the field: its frame goes out now and every `repeat_s`."""
        self._card = uid
        self._next_frame = self.clock.monotonic()

    def remove(self) -> None:
        """Take the card away."""
        self._emit()
        self._card = None

    def inject(self, data: bytes) -> None:
        """Put raw bytes on the line (noise, a corrupted frame)."""
        self._emit()
        self._pending.extend(data)

    def _emit(self) -> None:
        if self._card is None:
            return
        while self._next_frame <= self.clock.monotonic():
            self._pending.extend(rdm6300_frame(self._card))
            self._next_frame += self.repeat_s

    @property
    def in_waiting(self) -> int:
        """Bytes sent by the reader and not yet read."""
        self._emit()
        return len(self._pending)

    def read(self, size: int = 1) -> bytes:
        """Up to `size` received bytes."""
        self._emit()
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def write(self, data: bytes, /) -> int:
        """The RDM6300 has no receive line: bytes sent to it are lost."""
        return len(data)

    def reset_input_buffer(self) -> None:
        """Drop what was received."""
        self._pending.clear()

    def close(self) -> None:
        """Mark the port closed."""
        self.closed = True
