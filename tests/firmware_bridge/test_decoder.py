"""The streaming decoder: resynchronises after garbage, counts and logs every rejected line."""

from __future__ import annotations

import itertools
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import CardRead, Decoder, Frame, Measurement, encode
from tests.firmware_bridge.conftest import line
from tests.firmware_bridge.test_codec import frames

noise = st.binary(max_size=200)
noise_without_dollar = noise.map(lambda b: b.replace(b"$", b""))


def chop(stream: bytes, cuts: list[int]) -> list[bytes]:
    """The stream split at the given offsets, as a serial port hands it over."""
    points = sorted({c % (len(stream) + 1) for c in cuts})
    edges = [0, *points, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(edges)]


def feed_all(decoder: Decoder, chunks: list[bytes]) -> list[Frame]:
    """Everything the decoder makes of the chunks."""
    return [frame for chunk in chunks for frame in decoder.feed(chunk)]


@given(
    st.lists(st.tuples(noise, frames), max_size=20),
    st.lists(st.integers(min_value=0), max_size=30),
)
def test_every_valid_frame_among_random_garbage_is_recovered(
    mixed: list[tuple[bytes, Frame]], cuts: list[int]
) -> None:
    stream = b"".join(garbage + encode(frame) for garbage, frame in mixed)
    decoder = Decoder()
    assert feed_all(decoder, chop(stream, cuts)) == [frame for _, frame in mixed]
    assert decoder.counters["frames"] == len(mixed)


@given(
    st.lists(st.tuples(noise_without_dollar, frames, st.booleans()), max_size=20),
    st.lists(st.integers(min_value=0), max_size=30),
)
def test_bad_checksums_and_noise_are_counted_exactly(
    mixed: list[tuple[bytes, Frame, bool]], cuts: list[int]
) -> None:
    def corrupt(wire: bytes) -> bytes:
        crc = wire[-5:-1]
        wrong = b"%04X" % (int(crc, 16) ^ 0x0001)
        return wire[:-5] + wrong + b"\n"

    stream = b"".join(
        garbage + (corrupt(encode(frame)) if broken else encode(frame))
        for garbage, frame, broken in mixed
    )
    decoder = Decoder()
    decoded = feed_all(decoder, chop(stream, cuts))
    assert decoded == [frame for _, frame, broken in mixed if not broken]
    counts = decoder.counters
    assert counts["bad_crc"] == sum(broken for _, _, broken in mixed)
    assert counts["garbage_bytes"] == sum(len(garbage) for garbage, _, _ in mixed)
    assert counts["malformed"] == counts["unknown_type"] == counts["overlong"] == 0


@given(st.binary(max_size=2000))
def test_any_bytes_at_all_never_raise(data: bytes) -> None:
    decoder = Decoder()
    decoder.feed(data)
    decoder.feed(encode(CardRead("04A1B2C3")))
    assert decoder.counters["garbage_bytes"] <= len(data)


def test_a_bad_checksum_is_logged_and_the_next_frame_goes_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    card = CardRead("04A1B2C3")
    decoder = Decoder(source="ttyMCU0")
    with caplog.at_level(logging.WARNING, logger="firmware_bridge"):
        got = decoder.feed(line("CARD,0,04A1B2C4", crc="1234") + encode(card))
    assert got == [card]
    assert decoder.counters["bad_crc"] == 1
    assert "ttyMCU0" in caplog.text
    assert "bad_crc" in caplog.text
    assert "line says 1234" in caplog.text


def test_a_malformed_field_is_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    decoder = Decoder()
    with caplog.at_level(logging.WARNING, logger="firmware_bridge"):
        got = decoder.feed(line("M,0,1,lots,,0.0,1.000,50"))
    assert got == []
    assert decoder.counters["malformed"] == 1
    assert "field irms" in caplog.text
    assert "'lots'" in caplog.text


def test_a_missing_field_is_named(caplog: pytest.LogCaptureFixture) -> None:
    decoder = Decoder()
    with caplog.at_level(logging.WARNING, logger="firmware_bridge"):
        decoder.feed(line("ACK,0,CLOSED"))
    assert decoder.counters["malformed"] == 1
    assert "field seq: missing" in caplog.text


def test_an_unknown_frame_type_is_counted_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    decoder = Decoder()
    card = CardRead("0A0B")
    with caplog.at_level(logging.WARNING, logger="firmware_bridge"):
        got = decoder.feed(line("TEMP,0,21.5") + encode(card))
    assert got == [card]
    assert decoder.counters["unknown_type"] == 1
    assert "unknown frame type 'TEMP'" in caplog.text


def test_an_overlong_line_is_dropped_and_the_next_frame_kept() -> None:
    decoder = Decoder()
    card = CardRead("0A0B")
    got = decoder.feed(b"$" + b"A" * 300 + b"\n" + encode(card))
    assert got == [card]
    assert decoder.counters["overlong"] == 1


def test_a_line_of_exactly_128_bytes_is_accepted() -> None:
    detail = "x" * 48
    wire = encode(Measurement(15, 2**32 - 1, 999999.999, 999999.9, -999999.9, 999999999.999, 65535))
    padded = line("ERR,CODE_PADDING_XX," + detail + "," + "y" * 52)
    assert len(padded) == 128
    decoder = Decoder()
    got = decoder.feed(wire + padded)
    assert len(got) == 2
    assert decoder.counters["overlong"] == 0


def test_a_frame_cut_short_by_a_new_dollar_is_counted_and_the_new_one_kept() -> None:
    decoder = Decoder()
    wire = encode(Measurement(0, 5, 1.0, None, 10.0, 0.5, 50))
    got = decoder.feed(wire[:15] + wire)
    assert len(got) == 1
    assert decoder.counters["malformed"] == 1


def test_crlf_lower_case_checksum_and_extra_trailing_fields_are_accepted() -> None:
    decoder = Decoder()
    crlf = encode(CardRead("0A0B"))[:-1] + b"\r\n"
    upper = encode(CardRead("0C0D"))
    lower = upper[:-5] + upper[-5:].lower()
    assert lower != upper  # its checksum has hex letters
    extra = line("CARD,0,0E0F,future-field")
    got = decoder.feed(crlf + lower + extra)
    assert [f.uid for f in got if isinstance(f, CardRead)] == ["0A0B", "0C0D", "0E0F"]


def test_non_printable_bytes_inside_a_frame_are_malformed() -> None:
    decoder = Decoder()
    assert decoder.feed(line("CARD,0,0A\x010B")) == []
    assert decoder.counters["malformed"] == 1


def test_noise_is_logged_with_how_many_bytes(caplog: pytest.LogCaptureFixture) -> None:
    decoder = Decoder()
    with caplog.at_level(logging.WARNING, logger="firmware_bridge"):
        decoder.feed(b"\x00\xff\xfe hum")
        decoder.feed(b"!!" + encode(CardRead("0A0B")))
    assert decoder.counters["garbage_bytes"] == 9
    assert "discarded 9 bytes of line noise" in caplog.text


def test_logging_is_held_back_but_every_rejection_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    decoder = Decoder()
    with caplog.at_level(logging.WARNING, logger="firmware_bridge"):
        decoder.feed(line("CARD,0,0A0B", crc="0000") * 500)
    assert decoder.counters["bad_crc"] == 500
    assert len(caplog.records) < 20
