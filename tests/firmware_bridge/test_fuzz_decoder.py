"""The decoder under fire: valid frames buried in noise, mutated frames and random chunking.

Two seeded streams. In the first every mutation has one known outcome, so the decoder's counters
must match what was injected exactly. In the second anything goes (random bytes with `$` and
newlines in them, bit flips anywhere): no exception may escape and every valid frame must still
come out, in order.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import (
    MAX_LINE,
    CardRead,
    Decoder,
    DeviceError,
    Frame,
    Heartbeat,
    Hello,
    Measurement,
    Ping,
    RelayAck,
    RelayCommand,
    crc16,
    encode,
)
from firmware_bridge.frames import FRAME_TYPES

logger = logging.getLogger(__name__)

EXACT_ITEMS = 70_000
CHAOS_ITEMS = 40_000
MAX_BODY = MAX_LINE - 2  # between '$' and '\n'
HEX = b"0123456789ABCDEFabcdef"
FIRMWARE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._+-"
CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
DETAIL_CHARS = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in "$*,")
PRINTABLE_NO_DOLLAR = bytes(c for c in range(0x20, 0x7F) if c != ord("$"))
NOT_DOLLAR = bytes(c for c in range(256) if c != ord("$"))
COUNTED = ("bad_crc", "malformed", "unknown_type", "overlong", "garbage_bytes")


def _text(rng: random.Random, chars: str, low: int, high: int) -> str:
    return "".join(rng.choice(chars) for _ in range(rng.randint(low, high)))


def random_frame(rng: random.Random) -> Frame:
    """A valid frame of any type with random fields (decimals chosen so they survive the wire)."""
    kind = rng.randrange(8)
    if kind <= 2:  # measurements are most of the traffic
        return Measurement(
            channel=rng.randint(0, 15),
            seq=rng.getrandbits(32),
            irms=rng.randint(0, 99_999) / 1000,
            vrms=None if rng.random() < 0.2 else rng.randint(0, 4000) / 10,
            watts=rng.randint(-200_000, 200_000) / 10,
            wh=rng.randint(0, 10**9) / 1000,
            cycles=rng.randint(0, 65535),
        )
    if kind == 3:
        return CardRead(
            uid=f"{rng.getrandbits(64):016X}"[: 2 * rng.randint(1, 8)], reader=rng.randint(0, 15)
        )
    if kind == 4:
        return RelayAck(rng.randint(0, 15), rng.random() < 0.5, rng.randint(0, 65535))
    if kind == 5:
        return Heartbeat(uptime_ms=rng.getrandbits(32))
    if kind == 6:
        return DeviceError(_text(rng, CODE_CHARS, 1, 16), _text(rng, DETAIL_CHARS, 0, 48))
    return rng.choice(
        (
            Hello(_text(rng, FIRMWARE_CHARS, 1, 16), rng.randint(1, 255), rng.randint(1, 16)),
            RelayCommand(rng.randint(0, 15), rng.random() < 0.5, rng.randint(0, 65535)),
            Ping(protocol=rng.randint(1, 255)),
        )
    )


def _line(payload: bytes, *, lower: bool = False) -> bytes:
    crc = f"{crc16(payload):04X}"
    return b"$%s*%s\n" % (payload, (crc.lower() if lower else crc).encode())


@dataclass
class Stream:
    """Bytes to feed, the frames that must come out of them, and the counters they must leave."""

    parts: list[bytes] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    thrown: int = 0

    def valid(self, frame: Frame, line: bytes | None = None) -> None:
        """A frame that must be decoded as it is."""
        self.parts.append(encode(frame) if line is None else line)
        self.frames.append(frame)
        self.thrown += 1

    def bad(self, data: bytes, **counts: int) -> None:
        """Bytes the decoder must reject, adding `counts` to its counters."""
        self.parts.append(data)
        self.counts.update(counts)
        self.thrown += 1

    def data(self) -> bytes:
        """The whole stream."""
        return b"".join(self.parts)


def _flip(byte: int, rng: random.Random) -> int:
    return byte ^ (1 << rng.randrange(8))


def _payload_flip(frame: Frame, rng: random.Random, s: Stream) -> None:
    line = bytearray(encode(frame))
    star = line.rindex(b"*")
    while True:  # one flipped bit between '$' and '*': CRC-16 catches every single-bit error
        at = rng.randrange(1, star)
        flipped = _flip(line[at], rng)
        if flipped not in b"$*\n":
            break
    line[at] = flipped
    s.bad(bytes(line), bad_crc=1)


def _checksum_flip(frame: Frame, rng: random.Random, s: Stream) -> None:
    line = bytearray(encode(frame))
    at = line.rindex(b"*") + 1 + rng.randrange(4)
    before = line[at]
    while (flipped := _flip(before, rng)) == ord("$"):
        pass
    line[at] = flipped
    if flipped not in HEX:
        s.bad(bytes(line), malformed=1)
    elif int(chr(flipped), 16) == int(chr(before), 16):
        s.valid(frame, bytes(line))  # 'A' -> 'a': receivers accept lower-case hex
    else:
        s.bad(bytes(line), bad_crc=1)


def _start_flip(frame: Frame, rng: random.Random, s: Stream) -> None:
    line = encode(frame)
    s.bad(bytes([_flip(line[0], rng)]) + line[1:], garbage_bytes=len(line))


def _truncated(frame: Frame, rng: random.Random, s: Stream) -> None:
    line = encode(frame)
    s.bad(line[: rng.randint(1, len(line) - 1)], malformed=1)
    s.valid(random_frame(rng))  # its '$' is what cuts the truncated line


def _doubled_start(frame: Frame, rng: random.Random, s: Stream) -> None:
    s.bad(b"$", malformed=1)  # an empty line, cut short by the frame's own '$'
    s.valid(frame)


def _overlong(frame: Frame, rng: random.Random, s: Stream) -> None:
    body = bytes(rng.choice(PRINTABLE_NO_DOLLAR) for _ in range(rng.randint(MAX_BODY + 1, 400)))
    # The first MAX_BODY bytes were the line; the rest of it, newline included, is line noise.
    s.bad(b"$" + body + b"\n", overlong=1, garbage_bytes=len(body) + 1 - MAX_BODY)


def _noise(frame: Frame, rng: random.Random, s: Stream) -> None:
    noise = bytes(rng.choice(NOT_DOLLAR) for _ in range(rng.randint(1, 60)))
    s.bad(noise, garbage_bytes=len(noise))


def _unknown_type(frame: Frame, rng: random.Random, s: Stream) -> None:
    while (name := _text(rng, CODE_CHARS, 1, 8)) in FRAME_TYPES:
        pass
    s.bad(_line(f"{name},1,2".encode()), unknown_type=1)


def _missing_field(frame: Frame, rng: random.Random, s: Stream) -> None:
    payload = encode(frame)[1:].rsplit(b"*", 1)[0]
    s.bad(_line(payload.rsplit(b",", 1)[0]), malformed=1)


def _non_printable(frame: Frame, rng: random.Random, s: Stream) -> None:
    payload = bytearray(encode(frame)[1:].rsplit(b"*", 1)[0])
    payload.insert(rng.randrange(1, len(payload) + 1), rng.choice(b"\x00\x07\x1b\x7f\x80\xff"))
    s.bad(_line(bytes(payload)), malformed=1)


def _extra_field(frame: Frame, rng: random.Random, s: Stream) -> None:
    payload = encode(frame)[1:].rsplit(b"*", 1)[0] + b",later"
    line = _line(payload)
    if len(line) <= MAX_LINE:
        s.valid(frame, line)  # a later firmware's trailing field is ignored


def _lower_case_or_crlf(frame: Frame, rng: random.Random, s: Stream) -> None:
    payload = encode(frame)[1:].rsplit(b"*", 1)[0]
    line = _line(payload, lower=True) if rng.random() < 0.5 else encode(frame)[:-1] + b"\r\n"
    s.valid(frame, line)


MUTATIONS: tuple[Callable[[Frame, random.Random, Stream], None], ...] = (
    _payload_flip,
    _checksum_flip,
    _start_flip,
    _truncated,
    _doubled_start,
    _overlong,
    _noise,
    _unknown_type,
    _missing_field,
    _non_printable,
    _extra_field,
    _lower_case_or_crlf,
)


def feed_in_chunks(decoder: Decoder, data: bytes, rng: random.Random) -> list[Frame]:
    """Feed `data` split at random boundaries, as a serial port's reads would."""
    frames: list[Frame] = []
    at = 0
    while at < len(data):
        size = rng.choice((1, 2, 7, rng.randint(1, 64), rng.randint(64, 512)))
        frames.extend(decoder.feed(data[at : at + size]))
        at += size
    return frames


def test_every_valid_frame_survives_known_mutations_and_every_bad_line_is_counted() -> None:
    rng = random.Random(20240601)
    stream = Stream()
    while stream.thrown < EXACT_ITEMS:
        frame = random_frame(rng)
        if rng.random() < 0.5:
            stream.valid(frame)
        else:
            rng.choice(MUTATIONS)(frame, rng, stream)
    decoder = Decoder(source="fuzz")

    frames = feed_in_chunks(decoder, stream.data(), rng)

    counters = decoder.counters
    logger.info(
        "fuzz: threw %d frames (%d valid) in %d bytes; counters %s",
        stream.thrown,
        len(stream.frames),
        len(stream.data()),
        counters,
    )
    assert frames == stream.frames
    assert counters["frames"] == len(stream.frames)
    assert {name: counters[name] for name in COUNTED} == {n: stream.counts[n] for n in COUNTED}


def _chaos(frame: Frame, rng: random.Random) -> bytes:
    """Anything at all: random bytes, '$' and newlines included, or a frame mangled anywhere."""
    choice = rng.randrange(5)
    if choice == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
    line = bytearray(encode(frame))
    if choice == 1:
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(line))
            line[at] = _flip(line[at], rng)
        return bytes(line)
    if choice == 2:
        return bytes(line[: rng.randrange(len(line))])
    if choice == 3:
        line.insert(rng.randrange(len(line) + 1), ord("$"))
        return bytes(line)
    return bytes(line) * rng.randint(2, 3) + b"\r\n\r\n$$$"


def test_no_noise_ever_raises_or_hides_a_valid_frame() -> None:
    rng = random.Random(7)
    parts: list[bytes] = []
    valid: list[Frame] = []
    mangled = 0
    for _ in range(CHAOS_ITEMS):
        frame = random_frame(rng)
        if rng.random() < 0.5:
            parts.append(encode(frame))
            valid.append(frame)
        else:
            parts.append(_chaos(frame, rng))
            mangled += 1
    decoder = Decoder(source="fuzz-chaos")

    frames = feed_in_chunks(decoder, b"".join(parts), rng)

    logger.info(
        "fuzz chaos: threw %d frames (%d valid, %d mangled); counters %s",
        CHAOS_ITEMS,
        len(valid),
        mangled,
        decoder.counters,
    )
    # Every valid frame comes out, in order; a mangled one may still decode (a flip that makes
    # an upper-case checksum digit lower-case), a repeated line at most three times.
    remaining = iter(frames)
    assert all(any(f == want for f in remaining) for want in valid)
    assert len(frames) <= len(valid) + 3 * mangled
    assert decoder.counters["frames"] == len(frames)
    rejected = sum(decoder.counters[k] for k in COUNTED if k != "garbage_bytes")
    assert rejected > 0
    assert decoder.counters["garbage_bytes"] <= len(b"".join(parts))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(1, 64), min_size=1, max_size=20))
def test_arbitrary_bytes_in_arbitrary_chunks_never_raise(data: bytes, sizes: list[int]) -> None:
    decoder = Decoder(source="fuzz-bytes")
    at, turn = 0, 0
    while at < len(data):
        size = sizes[turn % len(sizes)]
        decoder.feed(data[at : at + size])
        at, turn = at + size, turn + 1
    counters = decoder.counters
    assert counters["garbage_bytes"] <= len(data)
    assert sum(counters.values()) - counters["garbage_bytes"] <= len(data)
