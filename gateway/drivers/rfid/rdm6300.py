"""RDM6300: a 125 kHz EM4100 card reader that sends each card as a frame on a 9600 8N1 UART.

A frame is STX (0x02), ten ASCII hex digits (the version byte and the 32-bit tag), two ASCII hex
digits of checksum (the XOR of those five bytes) and ETX (0x03). The reader repeats the frame for
as long as the card is in the field, so a card counts once per presentation: it must have been
away `release_s` before it counts again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from firmware_bridge.clock import Clock, SystemClock
from gateway.drivers.base import CardReading, DriverError
from gateway.drivers.faults import GarbageError, Tally
from gateway.drivers.rfid.presence import Presence
from gateway.drivers.serial_port import SerialPort, open_serial

logger = logging.getLogger(__name__)

STX = 0x02
ETX = 0x03
FRAME_LENGTH = 14
_HEX = frozenset(b"0123456789ABCDEFabcdef")


class Config(BaseModel):
    """An RDM6300 on a serial port."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    driver: Literal["rdm6300"]
    port: str
    baudrate: int = 9600
    release_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0


def parse_frame(frame: bytes) -> str:
    """The card's UID (ten upper-case hex digits) from one 14-byte frame, or GarbageError."""
    if len(frame) != FRAME_LENGTH or frame[0] != STX:
        raise GarbageError("bad_frame", f"expected {FRAME_LENGTH} bytes from STX")
    if frame[-1] != ETX:
        raise GarbageError("bad_frame", f"no ETX at byte {FRAME_LENGTH - 1}: {frame[-1]:#04x}")
    body = frame[1:-1]
    if not _HEX.issuperset(body):
        raise GarbageError("bad_frame", f"not ASCII hex: {body!r}")
    data = bytes.fromhex(body[:10].decode("ascii"))
    sent = int(body[10:].decode("ascii"), 16)
    computed = 0
    for byte in data:
        computed ^= byte
    if sent != computed:
        raise GarbageError("bad_checksum", f"checksum {sent:02X}, computed {computed:02X}")
    return data.hex().upper()


class Driver:
    """An RDM6300 card reader: `read()` drains the UART and returns a newly presented card."""

    def __init__(
        self, config: Config, *, bus: SerialPort | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._bus = bus
        self._port: SerialPort | None = None
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._presence = Presence(config.release_s)
        self._buffer = bytearray()
        self._cards: deque[str] = deque()
        self._tally = Tally(f"rdm6300 {config.port}", logger)

    @property
    def counters(self) -> Mapping[str, int]:
        """`reads` (frames), `cards` (presentations), `bad_checksum`, `bad_frame`, `noise`."""
        return self._tally.snapshot

    def open(self) -> None:
        """Open the UART (DeviceAbsentError when the port is not there)."""
        if self._port is not None:
            return
        if self._bus is not None:
            self._port = self._bus
        else:
            self._port = open_serial(self.config.port, baudrate=self.config.baudrate, timeout_s=0)
        self._buffer.clear()

    def read(self) -> CardReading | None:
        """A card presented since the last call, or None; returns at once."""
        port = self._require_port()
        try:
            waiting = port.in_waiting
            data = port.read(waiting) if waiting else b""
        except OSError as err:
            raise DriverError(f"rdm6300 {self.config.port}: read failed: {err}") from err
        if data:
            self._take(data, self._clock.monotonic())
        return CardReading(uid=self._cards.popleft()) if self._cards else None

    def close(self) -> None:
        """Release the UART."""
        port, self._port = self._port, None
        if port is not None and self._bus is None:
            port.close()

    def _require_port(self) -> SerialPort:
        if self._port is None:
            raise DriverError(f"rdm6300 {self.config.port}: not open")
        return self._port

    def _take(self, data: bytes, now: float) -> None:
        """Cut frames out of the received bytes, resynchronising on the next STX after garbage."""
        buffer = self._buffer
        buffer.extend(data)
        while buffer:
            start = buffer.find(STX)
            if start != 0:
                dropped = len(buffer) if start < 0 else start
                self._tally.reject("noise", f"{dropped} byte(s) outside a frame")
                del buffer[:dropped]
                continue
            if len(buffer) < FRAME_LENGTH:
                return
            frame = bytes(buffer[:FRAME_LENGTH])
            try:
                uid = parse_frame(frame)
            except GarbageError as err:
                self._tally.reject(err.kind, f"frame {frame!r} rejected: {err.reason}")
                # A good frame may start at the next STX, even inside this one.
                following = buffer.find(STX, 1)
                del buffer[: following if following > 0 else len(buffer)]
                continue
            del buffer[:FRAME_LENGTH]
            self._tally.count("reads")
            if self._presence.seen(uid, now):
                self._tally.count("cards")
                self._cards.append(uid)
