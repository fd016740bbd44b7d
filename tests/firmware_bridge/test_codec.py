"""Every frame survives encode → decode; bad values are refused naming the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import firmware_bridge
from firmware_bridge import (
    MAX_LINE,
    CardRead,
    DeviceError,
    Frame,
    FrameError,
    Heartbeat,
    Hello,
    Measurement,
    Ping,
    RejectKind,
    RelayAck,
    RelayCommand,
    crc16,
    decode_line,
    encode,
)


def decimals(places: int, *, signed: bool = False, top: int = 10**6) -> st.SearchStrategy[float]:
    """Numbers as the wire carries them: whole multiples of 10^-places."""
    low = -top * 10**places if signed else 0
    return st.integers(low, top * 10**places).map(lambda n: n / 10**places)


channels = st.integers(0, 15)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
printable_detail = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="$*,"),
    max_size=48,
)

frames: st.SearchStrategy[Frame] = st.one_of(
    st.builds(
        Hello,
        firmware=st.from_regex(r"[0-9A-Za-z._+-]{1,16}", fullmatch=True),
        protocol=st.integers(1, 255),
        channels=st.integers(1, 16),
    ),
    st.builds(
        Measurement,
        channel=channels,
        seq=u32,
        irms=decimals(3, top=1000),
        vrms=st.none() | decimals(1, top=1000),
        watts=decimals(1, signed=True),
        wh=decimals(3),
        cycles=u16,
    ),
    st.builds(
        CardRead,
        uid=st.binary(min_size=1, max_size=16).map(lambda b: b.hex().upper()),
        reader=channels,
    ),
    st.builds(RelayAck, channel=channels, closed=st.booleans(), seq=u16),
    st.builds(Heartbeat, uptime_ms=u32),
    st.builds(
        DeviceError, code=st.from_regex(r"[A-Z0-9_]{1,16}", fullmatch=True), detail=printable_detail
    ),
    st.builds(RelayCommand, channel=channels, closed=st.booleans(), seq=u16),
    st.builds(Ping, protocol=st.integers(1, 255)),
)


@given(frames)
def test_every_frame_decodes_to_what_was_encoded(frame: Frame) -> None:
    wire = encode(frame)
    assert wire.startswith(b"$") and wire.endswith(b"\n")
    assert len(wire) <= MAX_LINE
    assert decode_line(wire) == frame


def test_crc_is_ccitt_false() -> None:
    assert crc16(b"123456789") == 0x29B1


def test_measurement_is_written_with_fixed_decimals() -> None:
    frame = Measurement(0, 1842, 6.5, 230.4, 1198.25, 5321.0, 50)
    assert encode(frame) == b"$M,0,1842,6.500,230.4,1198.2,5321.000,50*" + encode(frame)[-5:]


def test_measurement_without_voltage_leaves_the_field_empty() -> None:
    wire = encode(Measurement(1, 77, 0.004, None, 0.0, 12.0, 50))
    assert wire.startswith(b"$M,1,77,0.004,,0.0,12.000,50*")
    assert decode_line(wire).vrms is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        (Measurement(0, 1, -0.5, None, 0.0, 0.0, 50), "irms"),
        (Measurement(0, 1, float("nan"), None, 0.0, 0.0, 50), "irms"),
        (Measurement(16, 1, 1.0, None, 0.0, 0.0, 50), "channel"),
        (Measurement(0, 2**32, 1.0, None, 0.0, 0.0, 50), "seq"),
        (Measurement(0, 1, 1.0, None, 0.0, 1e12, 50), "wh"),
        (CardRead("04a1b2"), "uid"),
        (CardRead("04A1B"), "uid"),
        (CardRead("XYZ0"), "uid"),
        (Hello("fw,1", 1, 1), "firmware"),
        (Hello("fw", 0, 1), "protocol"),
        (DeviceError("bad", ""), "code"),
        (DeviceError("X", "a*b"), "detail"),
        (RelayCommand(0, True, 70000), "seq"),
    ],
)
def test_encoding_a_bad_value_names_the_field(frame: Frame, field: str) -> None:
    with pytest.raises(FrameError) as caught:
        encode(frame)
    assert caught.value.kind is RejectKind.MALFORMED
    assert caught.value.field == field
    assert field in str(caught.value)


def test_decoding_names_the_broken_field() -> None:
    from tests.firmware_bridge.conftest import line

    with pytest.raises(FrameError) as caught:
        decode_line(line("M,0,1,6.5A,,0.0,1.000,50"))
    assert caught.value.field == "irms"
    assert "6.5A" in str(caught.value)


def test_too_many_decimals_are_refused() -> None:
    from tests.firmware_bridge.conftest import line

    with pytest.raises(FrameError, match="at most 3 decimals"):
        decode_line(line("M,0,1,6.5001,,0.0,1.000,50"))


def test_every_example_in_the_protocol_document_decodes_and_reencodes_identically() -> None:
    doc = Path(firmware_bridge.__file__).with_name("PROTOCOL.md").read_text(encoding="utf-8")
    examples = re.findall(r"^\$[A-Z]+[,*].*$", doc, flags=re.MULTILINE)
    assert len(examples) >= 8
    seen = set()
    for example in examples:
        wire = example.encode("ascii") + b"\n"
        frame = decode_line(wire)
        assert encode(frame) == wire
        seen.add(type(frame))
    assert seen == {
        Hello,
        Measurement,
        CardRead,
        RelayAck,
        Heartbeat,
        DeviceError,
        RelayCommand,
        Ping,
    }
