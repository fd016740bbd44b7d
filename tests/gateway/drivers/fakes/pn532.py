"""A simulated PN532 on I²C: host frames in, ACK and answer frames out behind a status byte."""

from __future__ import annotations

from collections import deque

_ACK = bytes([0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00])
_ERROR_FRAME = bytes([0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00])


def chip_frame(body: bytes) -> bytes:
    """A frame from the chip: TFI 0xD5 and `body` (answer code and data)."""
    data = bytes([0xD5]) + body
    return (
        bytes([0x00, 0x00, 0xFF, len(data), -len(data) & 0xFF])
        + data
        + bytes([-sum(data) & 0xFF, 0x00])
    )


class FakePn532:
    """The chip at its I²C address, with a card a test places and faults it can arm."""

    def __init__(self, *, ic: int = 0x32) -> None:
        self.ic = ic
        self.card: bytes | None = None
        self.commands: list[int] = []
        self.sam_normal = False
        self.closed = False
        self.busy_polls = 2  # status reads that say "not ready" before each message
        self._outbox: deque[bytes] = deque()
        self._busy = 0
        self._faults: deque[str] = deque()

    def place(self, uid: str) -> None:
        """Hold a type A card with this hex UID to the antenna."""
        self.card = bytes.fromhex(uid)

    def remove(self) -> None:
        """Take the card away."""
        self.card = None

    def then(self, *faults: str) -> None:
        """Spoil the next answers: `bad_dcs`, `bad_lcs`, `error`, `silent`, `nack`, `ok`."""
        self._faults.extend(faults)

    # ----- I²C ---------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """A frame from the host."""
        body = self._host_body(bytes(data))
        if body is None:
            return  # a garbled frame: the chip says nothing
        fault = self._faults.popleft() if self._faults else None
        if fault == "nack":
            self._queue(bytes([0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00]))
            return
        self._queue(_ACK)
        self.commands.append(body[0])
        answer = self._answer(body[0], body[1:])
        if fault == "silent":
            return
        if fault == "error" or answer is None:
            self._queue(_ERROR_FRAME)
            return
        frame = chip_frame(answer)
        if fault == "bad_dcs":
            frame = frame[:-2] + bytes([frame[-2] ^ 0x5A, 0x00])
        elif fault == "bad_lcs":
            frame = frame[:4] + bytes([frame[4] ^ 0x01]) + frame[5:]
        self._queue(frame)

    def read(self, size: int) -> bytes:
        """A status byte, then the waiting message (consumed when read whole) padded with zeros."""
        if not self._outbox or self._busy > 0:
            self._busy -= 1
            return bytes(size)
        if size == 1:
            return b"\x01"
        message = self._outbox.popleft()
        self._busy = self.busy_polls
        return (b"\x01" + message + bytes(size))[:size]

    def close(self) -> None:
        """Mark the device closed."""
        self.closed = True

    # ----- the chip ----------------------------------------------------------------------------

    def _queue(self, message: bytes) -> None:
        if not self._outbox:
            self._busy = self.busy_polls
        self._outbox.append(message)

    @staticmethod
    def _host_body(frame: bytes) -> bytes | None:
        if frame[:3] != b"\x00\x00\xff" or (frame[3] + frame[4]) & 0xFF:
            return None
        data = frame[5 : 5 + frame[3]]
        if data[:1] != b"\xd4" or (sum(data) + frame[5 + frame[3]]) & 0xFF:
            return None
        return data[1:]

    def _answer(self, command: int, params: bytes) -> bytes | None:
        if command == 0x02:
            return bytes([0x03, self.ic, 0x01, 0x06, 0x07])
        if command == 0x14:
            self.sam_normal = params[:1] == b"\x01"
            return bytes([0x15])
        if command == 0x32:
            return bytes([0x33])
        if command == 0x4A:
            if self.card is None:
                return bytes([0x4B, 0x00])
            sens_res = b"\x00\x04" if len(self.card) == 4 else b"\x00\x44"
            target = bytes([0x01]) + sens_res + bytes([0x08, len(self.card)]) + self.card
            return bytes([0x4B, 0x01]) + target
        return None
