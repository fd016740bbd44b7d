"""The frames of serial protocol v1 as frozen dataclasses, each knowing its own fields."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from firmware_bridge.errors import FrameError, RejectKind

PROTOCOL_VERSION = 1
"""The serial protocol version this package speaks (HELLO and PING carry it)."""

MAX_CHANNEL = 15
MAX_U16 = 0xFFFF
MAX_U32 = 0xFFFF_FFFF
_MAX_INTEGER_DIGITS = 9

_UINT = re.compile(r"[0-9]{1,10}")
_DECIMAL = re.compile(r"(-?)([0-9]{1,9})(?:\.([0-9]{1,6}))?")
_FIRMWARE = re.compile(r"[0-9A-Za-z._+-]{1,16}")
_ERROR_CODE = re.compile(r"[A-Z0-9_]{1,16}")
_DETAIL = re.compile(r"[\x20-\x7e]{0,48}")
_UID = re.compile(r"(?:[0-9A-Fa-f]{2}){1,16}")
_FORBIDDEN_IN_TEXT = frozenset("$*,")


def _malformed(frame_type: str, field: str, reason: str) -> FrameError:
    return FrameError(RejectKind.MALFORMED, reason, field=field, frame_type=frame_type)


class _FieldReader:
    """Takes a frame's fields in order, naming the field in every error."""

    def __init__(self, frame_type: str, fields: Sequence[str]) -> None:
        self._type = frame_type
        self._fields = fields
        self._next = 0

    def _take(self, name: str) -> str:
        if self._next >= len(self._fields):
            raise _malformed(self._type, name, "missing")
        text = self._fields[self._next]
        self._next += 1
        return text

    def uint(self, name: str, maximum: int, *, minimum: int = 0) -> int:
        """An unsigned decimal integer in [minimum, maximum]."""
        text = self._take(name)
        if not _UINT.fullmatch(text):
            raise _malformed(self._type, name, f"expected an unsigned integer, got {text!r}")
        value = int(text)
        if not minimum <= value <= maximum:
            raise _malformed(self._type, name, f"{value} is outside {minimum}..{maximum}")
        return value

    def decimal(self, name: str, places: int, *, signed: bool = False) -> float:
        """A decimal number with at most `places` decimals."""
        text = self._take(name)
        return _parse_decimal(self._type, name, text, places, signed=signed)

    def optional_decimal(self, name: str, places: int) -> float | None:
        """An unsigned decimal, or an empty field for 'not measured'."""
        text = self._take(name)
        if text == "":
            return None
        return _parse_decimal(self._type, name, text, places, signed=False)

    def choice(self, name: str, choices: Mapping[str, bool]) -> bool:
        """One of a few fixed words."""
        text = self._take(name)
        if text not in choices:
            raise _malformed(self._type, name, f"expected one of {'/'.join(choices)}, got {text!r}")
        return choices[text]

    def text(self, name: str, pattern: re.Pattern[str], expected: str) -> str:
        """A text field matching `pattern`."""
        text = self._take(name)
        if not pattern.fullmatch(text):
            raise _malformed(self._type, name, f"expected {expected}, got {text!r}")
        return text


def _parse_decimal(frame_type: str, field: str, text: str, places: int, *, signed: bool) -> float:
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise _malformed(frame_type, field, f"expected a decimal number, got {text!r}")
    if match.group(1) and not signed:
        raise _malformed(frame_type, field, f"must not be negative, got {text!r}")
    decimals = match.group(3) or ""
    if len(decimals) > places:
        raise _malformed(frame_type, field, f"at most {places} decimals, got {text!r}")
    return float(text) + 0.0  # -0.0 becomes 0.0


def _uint_text(frame_type: str, field: str, value: int, maximum: int, *, minimum: int = 0) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _malformed(frame_type, field, f"expected an integer in {minimum}..{maximum}")
    return str(value)


def _decimal_text(
    frame_type: str, field: str, value: float, places: int, *, signed: bool = False
) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _malformed(frame_type, field, f"expected a finite number, got {value!r}")
    text = f"{value:.{places}f}"
    if text.lstrip("-").strip("0.") == "":
        text = f"{0:.{places}f}"  # no "-0.000" on the wire
    if text.startswith("-") and not signed:
        raise _malformed(frame_type, field, f"must not be negative, got {value!r}")
    if len(text.lstrip("-").split(".")[0]) > _MAX_INTEGER_DIGITS:
        raise _malformed(frame_type, field, f"more than {_MAX_INTEGER_DIGITS} integer digits")
    return text


def _text(frame_type: str, field: str, value: str, pattern: re.Pattern[str], expected: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _malformed(frame_type, field, f"expected {expected}, got {value!r}")
    if _FORBIDDEN_IN_TEXT.intersection(value):
        raise _malformed(frame_type, field, "must not contain '$', '*' or ','")
    return value


# Protocol v1 and the firmware name the relay's contact: `closed` is the relay energised.
_RELAY_WORDS = MappingProxyType({"CLOSE": True, "OPEN": False})
_STATE_WORDS = MappingProxyType({"CLOSED": True, "OPEN": False})
_DETAIL_EXPECTED = "up to 48 printable ASCII characters without '$', '*' or ','"


@dataclass(frozen=True, slots=True)
class Hello:
    """Device → host at start-up and in answer to PING: which firmware and protocol speak."""

    firmware: str
    protocol: int
    channels: int

    TYPE: ClassVar[str] = "HELLO"

    def fields(self) -> tuple[str, ...]:
        """The wire fields, in order."""
        t = self.TYPE
        return (
            _text(t, "firmware", self.firmware, _FIRMWARE, "1-16 of [0-9A-Za-z._+-]"),
            _uint_text(t, "protocol", self.protocol, 255, minimum=1),
            _uint_text(t, "channels", self.channels, MAX_CHANNEL + 1, minimum=1),
        )

    @classmethod
    def parse(cls, fields: Sequence[str]) -> Hello:
        """Read the wire fields."""
        r = _FieldReader(cls.TYPE, fields)
        return cls(
            firmware=r.text("firmware", _FIRMWARE, "1-16 of [0-9A-Za-z._+-]"),
            protocol=r.uint("protocol", 255, minimum=1),
            channels=r.uint("channels", MAX_CHANNEL + 1, minimum=1),
        )


@dataclass(frozen=True, slots=True)
class Measurement:
    """Device → host: one channel's current, voltage, power and energy counter."""

    channel: int
    seq: int
    irms: float
    vrms: float | None
    watts: float
    wh: float
    cycles: int

    TYPE: ClassVar[str] = "M"

    def fields(self) -> tuple[str, ...]:
        """The wire fields, in order."""
        t = self.TYPE
        return (
            _uint_text(t, "channel", self.channel, MAX_CHANNEL),
            _uint_text(t, "seq", self.seq, MAX_U32),
            _decimal_text(t, "irms", self.irms, 3),
            "" if self.vrms is None else _decimal_text(t, "vrms", self.vrms, 1),
            _decimal_text(t, "watts", self.watts, 1, signed=True),
            _decimal_text(t, "wh", self.wh, 3),
            _uint_text(t, "cycles", self.cycles, MAX_U16),
        )

    @classmethod
    def parse(cls, fields: Sequence[str]) -> Measurement:
        """Read the wire fields."""
        r = _FieldReader(cls.TYPE, fields)
        return cls(
            channel=r.uint("channel", MAX_CHANNEL),
            seq=r.uint("seq", MAX_U32),
            irms=r.decimal("irms", 3),
            vrms=r.optional_decimal("vrms", 1),
            watts=r.decimal("watts", 1, signed=True),
            wh=r.decimal("wh", 3),
            cycles=r.uint("cycles", MAX_U16),
        )


@dataclass(frozen=True, slots=True)
class CardRead:
    """Device → host: a card was held to a reader; `uid` in upper-case hex."""

    uid: str
    reader: int = 0

    TYPE: ClassVar[str] = "CARD"

    def fields(self) -> tuple[str, ...]:
        """The wire fields, in order."""
        t = self.TYPE
        uid = _text(t, "uid", self.uid, _UID, "2-32 hex digits, an even number")
        if uid != uid.upper():
            raise _malformed(t, "uid", f"expected upper-case hex, got {uid!r}")
        return (_uint_text(t, "reader", self.reader, MAX_CHANNEL), uid)

    @classmethod
    def parse(cls, fields: Sequence[str]) -> CardRead:
        """Read the wire fields; lower-case hex is accepted and made upper-case."""
        r = _FieldReader(cls.TYPE, fields)
        reader = r.uint("reader", MAX_CHANNEL)
        uid = r.text("uid", _UID, "2-32 hex digits, an even number")
        return cls(uid=uid.upper(), reader=reader)


@dataclass(frozen=True, slots=True)
class RelayAck:
    """Device → host: a relay command was applied; the relay's state now."""

    channel: int
    closed: bool
    seq: int

    TYPE: ClassVar[str] = "ACK"

    def fields(self) -> tuple[str, ...]:
        """The wire fields, in order."""
        t = self.TYPE
        return (
            _uint_text(t, "channel", self.channel, MAX_CHANNEL),
            "CLOSED" if self.closed else "OPEN",
            _uint_text(t, "seq", self.seq, MAX_U16),
        )

    @classmethod
    def parse(cls, fields: Sequence[str]) -> RelayAck:
        """Read the wire fields."""
        r = _FieldReader(cls.TYPE, fields)
        return cls(
            channel=r.uint("channel", MAX_CHANNEL),
            closed=r.choice("state", _STATE_WORDS),
            seq=r.uint("seq", MAX_U16),
        )


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Device → host: still alive; milliseconds since the device started (wraps at 2^32)."""

    uptime_ms: int

    TYPE: ClassVar[str] = "HB"

    def fields(self) -> tuple[str, ...]:
        """The wire fields, in order."""
        return (_uint_text(self.TYPE, "uptime_ms", self.uptime_ms, MAX_U32),)

    @classmethod
    def parse(cls, fields: Sequence[str]) -> Heartbeat:
        """Read the wire fields."""
        r = _FieldReader(cls.TYPE, fields)
        return cls(uptime_ms=r.uint("uptime_ms", MAX_U32))


@dataclass(frozen=True, slots=True)
class DeviceError:
    """Device → host: something the device could not do, e.g. `BAD_CRC` on a host line."""

    code: str
    detail: str = ""

    TYPE: ClassVar[str] = "ERR"

    def fields(self) -> tuple[str, ...]:
        """The wire fields, in order."""
        t = self.TYPE
        return (
            _text(t, "code", self.code, _ERROR_CODE, "1-16 of [A-Z0-9_]"),
            _text(t, "detail", self.detail, _DETAIL, _DETAIL_EXPECTED),
        )

    @classmethod
    def parse(cls, fields: Sequence[str]) -> DeviceError:
        """Read the wire fields."""
        r = _FieldReader(cls.TYPE, fields)
        return cls(
            code=r.text("code", _ERROR_CODE, "1-16 of [A-Z0-9_]"),
            detail=r.text("detail", _DETAIL, _DETAIL_EXPECTED),
        )


@dataclass(frozen=True, slots=True)
class RelayCommand:
    """Host → device: energise (CLOSE) or de-energise (OPEN) one relay; `seq` comes back."""

    channel: int
    closed: bool
    seq: int

    TYPE: ClassVar[str] = "RELAY"

    def fields(self) -> tuple[str, ...]:
        """The wire fields, in order."""
        t = self.TYPE
        return (
            _uint_text(t, "channel", self.channel, MAX_CHANNEL),
            "CLOSE" if self.closed else "OPEN",
            _uint_text(t, "seq", self.seq, MAX_U16),
        )

    @classmethod
    def parse(cls, fields: Sequence[str]) -> RelayCommand:
        """Read the wire fields."""
        r = _FieldReader(cls.TYPE, fields)
        return cls(
            channel=r.uint("channel", MAX_CHANNEL),
            closed=r.choice("action", _RELAY_WORDS),
            seq=r.uint("seq", MAX_U16),
        )


@dataclass(frozen=True, slots=True)
class Ping:
    """Host → device: are you there? The device answers with HELLO."""

    protocol: int = PROTOCOL_VERSION

    TYPE: ClassVar[str] = "PING"

    def fields(self) -> tuple[str, ...]:
        """The wire fields, in order."""
        return (_uint_text(self.TYPE, "protocol", self.protocol, 255, minimum=1),)

    @classmethod
    def parse(cls, fields: Sequence[str]) -> Ping:
        """Read the wire fields."""
        r = _FieldReader(cls.TYPE, fields)
        return cls(protocol=r.uint("protocol", 255, minimum=1))


Frame = Hello | Measurement | CardRead | RelayAck | Heartbeat | DeviceError | RelayCommand | Ping
"""Any frame of serial protocol v1."""

FRAME_TYPES: Mapping[str, Callable[[Sequence[str]], Frame]] = MappingProxyType(
    {
        cls.TYPE: cls.parse
        for cls in (
            Hello,
            Measurement,
            CardRead,
            RelayAck,
            Heartbeat,
            DeviceError,
            RelayCommand,
            Ping,
        )
    }
)
"""Every frame type by its wire name; adding a frame is adding a class here."""
