"""Serial protocol v1 codec: `encode` a frame to a line, `Decoder` turns a byte stream into frames.

Pure: no I/O. The decoder never raises on bad input; it resynchronises on the next `$`, counts
every rejected line and every byte of line noise, and logs a warning naming the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from firmware_bridge.errors import FrameError, RejectKind
from firmware_bridge.frames import (
    FRAME_TYPES,
    PROTOCOL_VERSION,
    CardRead,
    DeviceError,
    Frame,
    Heartbeat,
    Hello,
    Measurement,
    Ping,
    RelayAck,
    RelayCommand,
)

__all__ = [
    "MAX_LINE",
    "PROTOCOL_VERSION",
    "CardRead",
    "Decoder",
    "DeviceError",
    "Frame",
    "Heartbeat",
    "Hello",
    "Measurement",
    "Ping",
    "RelayAck",
    "RelayCommand",
    "crc16",
    "decode_line",
    "encode",
]

logger = logging.getLogger(__name__)

MAX_LINE = 128
"""Longest line on the wire in bytes, from `$` to `\\n` inclusive."""

_MAX_BODY = MAX_LINE - 2  # between '$' and '\n', an optional '\r' included
_START = 0x24  # '$'
_END = 0x0A  # '\n'
_HEX = frozenset(b"0123456789ABCDEFabcdef")
_NOISE_LOG_EVERY = 1024  # a device spewing noise without any '$' still gets logged


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ byte]
    return crc


def encode(frame: Frame) -> bytes:
    """The frame as one wire line `$TYPE,fields*CRC\\n`; FrameError names a field that is off."""
    payload = ",".join((frame.TYPE, *frame.fields())).encode("ascii")
    line = b"$%s*%04X\n" % (payload, crc16(payload))
    if len(line) > MAX_LINE:
        raise FrameError(
            RejectKind.OVERLONG,
            f"{len(line)} bytes, the limit is {MAX_LINE}",
            frame_type=frame.TYPE,
        )
    return line


def decode_line(line: bytes) -> Frame:
    """One complete line (`$...*CRC`, trailing `\\r\\n` optional) as a frame, or FrameError."""
    if not line.startswith(b"$"):
        raise FrameError(RejectKind.MALFORMED, "a line starts with '$'")
    body = line[1:]
    if body.endswith(b"\n"):
        body = body[:-1]
    if len(body) > _MAX_BODY:
        raise FrameError(RejectKind.OVERLONG, f"longer than {MAX_LINE} bytes")
    return _decode_body(body)


def _decode_body(body: bytes) -> Frame:
    if body.endswith(b"\r"):
        body = body[:-1]
    star = body.rfind(b"*")
    if star < 0:
        raise FrameError(RejectKind.MALFORMED, "no '*' before the checksum", field="checksum")
    payload, crc_text = body[:star], body[star + 1 :]
    if len(crc_text) != 4 or not _HEX.issuperset(crc_text):
        raise FrameError(
            RejectKind.MALFORMED, f"expected 4 hex digits, got {crc_text!r}", field="checksum"
        )
    sent, computed = int(crc_text, 16), crc16(payload)
    if sent != computed:
        raise FrameError(RejectKind.BAD_CRC, f"line says {sent:04X}, its bytes give {computed:04X}")
    bad = next((i for i, b in enumerate(payload) if not 0x20 <= b <= 0x7E), None)
    if bad is not None:
        raise FrameError(
            RejectKind.MALFORMED, f"non-printable byte 0x{payload[bad]:02X} at offset {bad}"
        )
    frame_type, *fields = payload.decode("ascii").split(",")
    parse = FRAME_TYPES.get(frame_type)
    if parse is None:
        raise FrameError(
            RejectKind.UNKNOWN_TYPE, f"unknown frame type {frame_type!r}", frame_type=frame_type
        )
    return parse(fields)


class _LogBudget:
    """At most `burst` warnings per `window_s`, then one note of how many were held back."""

    def __init__(self, *, burst: int = 10, window_s: float = 60.0) -> None:
        self._burst = burst
        self._window_s = window_s
        self._window_start = -window_s
        self._used = 0
        self._held_back = 0

    def allow(self) -> bool:
        """Whether this warning may be logged."""
        now = time.monotonic()
        if now - self._window_start >= self._window_s:
            if self._held_back:
                logger.warning("%d more serial warnings were not logged", self._held_back)
            self._window_start, self._used, self._held_back = now, 0, 0
        if self._used < self._burst:
            self._used += 1
            if self._used == self._burst:
                logger.warning("serial warnings: further ones held back for %.0f s", self._window_s)
            return True
        self._held_back += 1
        return False


def _preview(data: bytes, limit: int = 40) -> str:
    return repr(data[:limit]) + ("…" if len(data) > limit else "")


class Decoder:
    """Turns a serial byte stream into frames; counts and logs whatever is not a frame."""

    def __init__(
        self,
        *,
        source: str = "serial",
        on_reject: Callable[[FrameError], None] | None = None,
    ) -> None:
        self._source = source
        self._on_reject = on_reject
        self._line: bytearray | None = None  # None: hunting for the next '$'
        self._noise = 0
        self._noise_head = b""
        self._log_budget = _LogBudget()
        self._counts = {
            "frames": 0,
            RejectKind.BAD_CRC.value: 0,
            RejectKind.MALFORMED.value: 0,
            RejectKind.UNKNOWN_TYPE.value: 0,
            RejectKind.OVERLONG.value: 0,
            "garbage_bytes": 0,
        }

    @property
    def counters(self) -> dict[str, int]:
        """A snapshot: frames decoded, lines rejected by reason, bytes of line noise."""
        return dict(self._counts)

    def reset(self) -> None:
        """Forget a half-received line (the port was reopened); counters are kept."""
        self._line = None
        self._end_noise()

    def feed(self, data: bytes) -> list[Frame]:
        """Every complete, valid frame in `data` plus what was held from earlier calls."""
        frames: list[Frame] = []
        i, n = 0, len(data)
        while i < n:
            if self._line is None:
                start = data.find(b"$", i)
                if start < 0:
                    self._add_noise(data[i:])
                    break
                if start > i:
                    self._add_noise(data[i:start])
                self._end_noise()
                self._line = bytearray()
                i = start + 1
                continue
            stop = _next_stop(data, i)
            end = n if stop < 0 else stop
            room = _MAX_BODY - len(self._line)
            if end - i > room:
                self._line = None
                self._reject(
                    FrameError(RejectKind.OVERLONG, f"no end of line within {MAX_LINE} bytes"),
                    data[i : i + 24],
                )
                i += room  # the rest of the long line is noise until the next '$'
                continue
            self._line += data[i:end]
            if stop < 0:
                break
            i = stop + 1
            if data[stop] == _START:
                cut = bytes(self._line)
                self._line = bytearray()
                self._reject(
                    FrameError(RejectKind.MALFORMED, "line cut short by the next '$'"), cut
                )
                continue
            body = bytes(self._line)
            self._line = None
            try:
                frames.append(_decode_body(body))
            except FrameError as err:
                self._reject(err, body)
            else:
                self._counts["frames"] += 1
        return frames

    def _reject(self, err: FrameError, line: bytes) -> None:
        self._counts[err.kind.value] += 1
        if self._log_budget.allow():
            logger.warning(
                "%s: dropped a serial line (%s) %s: %s", self._source, err.kind, _preview(line), err
            )
        if self._on_reject is not None:
            self._on_reject(err)

    def _add_noise(self, chunk: bytes) -> None:
        self._counts["garbage_bytes"] += len(chunk)
        if self._noise < 16:
            self._noise_head = (self._noise_head + chunk)[:16]
        self._noise += len(chunk)
        if self._noise >= _NOISE_LOG_EVERY:
            self._end_noise()

    def _end_noise(self) -> None:
        if self._noise and self._log_budget.allow():
            logger.warning(
                "%s: discarded %d bytes of line noise (garbage_bytes), starting %s",
                self._source,
                self._noise,
                _preview(self._noise_head, 16),
            )
        self._noise, self._noise_head = 0, b""


def _next_stop(data: bytes, start: int) -> int:
    """Index of the first '\\n' or '$' at or after `start`, or -1."""
    newline = data.find(b"\n", start)
    dollar = data.find(b"$", start, newline if newline >= 0 else len(data))
    return dollar if dollar >= 0 else newline
