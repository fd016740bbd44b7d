"""The Python codec encodes, decodes and refuses exactly what the shared protocol vectors say.

The same file drives the C++ firmware's host tests, so both sides are held to one set of bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict, cast

import pytest

import firmware_bridge
from firmware_bridge import (
    CardRead,
    Decoder,
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
    decode_line,
    encode,
)

VECTORS_PATH = Path(firmware_bridge.__file__).parent / "vectors" / "protocol_v1.json"

FRAME_CLASSES: dict[str, Callable[..., Frame]] = {
    cls.TYPE: cls
    for cls in (Hello, Measurement, CardRead, RelayAck, Heartbeat, DeviceError, RelayCommand, Ping)
}

Fields = dict[str, object]


class FrameVector(TypedDict):
    """A frame and the exact line it is on the wire."""

    name: str
    type: str
    fields: Fields
    line: str


class RoundedVector(FrameVector):
    """A frame whose values are rounded on the way out; `decodes_as` is what comes back."""

    decodes_as: Fields


class RejectedVector(TypedDict):
    """A line a receiver drops, and why."""

    name: str
    line: str
    reject: str
    field: str | None
    frame_type: str


class UnencodableVector(TypedDict):
    """Frame values a sender refuses, naming the field."""

    name: str
    type: str
    fields: Fields
    field: str


class StreamVector(TypedDict):
    """A byte stream, the frames a receiver finds in it and its counters afterwards."""

    name: str
    bytes: str
    frames: list[str]
    counters: dict[str, int]


class Vectors(TypedDict):
    """The whole vector file."""

    protocol: int
    frames: list[FrameVector]
    rounded: list[RoundedVector]
    accepted: list[FrameVector]
    rejected: list[RejectedVector]
    unencodable: list[UnencodableVector]
    streams: list[StreamVector]


def load_vectors() -> Vectors:
    """The shared vectors of protocol v1."""
    return cast(Vectors, json.loads(VECTORS_PATH.read_text(encoding="ascii")))


def wire(text: str) -> bytes:
    """Vector text as wire bytes: each character U+0000..U+00FF is one byte."""
    return text.encode("latin-1")


def frame_of(frame_type: str, fields: Fields) -> Frame:
    """The Python frame a vector describes."""
    return FRAME_CLASSES[frame_type](**fields)


VECTORS = load_vectors()


def _ids(vectors: list[FrameVector] | list[RoundedVector] | list[RejectedVector]) -> list[str]:
    return [vector["name"] for vector in vectors]


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=_ids(VECTORS["frames"]))
def test_python_encodes_every_frame_vector_to_its_exact_line(vector: FrameVector) -> None:
    assert encode(frame_of(vector["type"], vector["fields"])) == wire(vector["line"])


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=_ids(VECTORS["frames"]))
def test_python_decodes_every_frame_vector_to_its_fields(vector: FrameVector) -> None:
    assert decode_line(wire(vector["line"])) == frame_of(vector["type"], vector["fields"])


@pytest.mark.parametrize("vector", VECTORS["rounded"], ids=_ids(VECTORS["rounded"]))
def test_values_with_more_decimals_are_rounded_to_what_the_wire_carries(
    vector: RoundedVector,
) -> None:
    assert encode(frame_of(vector["type"], vector["fields"])) == wire(vector["line"])
    assert decode_line(wire(vector["line"])) == frame_of(vector["type"], vector["decodes_as"])


@pytest.mark.parametrize("vector", VECTORS["accepted"], ids=_ids(VECTORS["accepted"]))
def test_lines_a_receiver_accepts_though_no_sender_writes_them(vector: FrameVector) -> None:
    assert decode_line(wire(vector["line"])) == frame_of(vector["type"], vector["fields"])


@pytest.mark.parametrize("vector", VECTORS["rejected"], ids=_ids(VECTORS["rejected"]))
def test_bad_lines_are_rejected_naming_the_kind_and_the_field(vector: RejectedVector) -> None:
    with pytest.raises(FrameError) as caught:
        decode_line(wire(vector["line"]))
    assert caught.value.kind == RejectKind(vector["reject"])
    assert caught.value.field == vector["field"]
    assert (caught.value.frame_type or "") == vector["frame_type"]


@pytest.mark.parametrize(
    "vector", VECTORS["unencodable"], ids=[v["name"] for v in VECTORS["unencodable"]]
)
def test_values_off_the_protocol_are_refused_by_the_encoder(vector: UnencodableVector) -> None:
    with pytest.raises(FrameError) as caught:
        encode(frame_of(vector["type"], vector["fields"]))
    assert caught.value.field == vector["field"]


@pytest.mark.parametrize("vector", VECTORS["streams"], ids=[v["name"] for v in VECTORS["streams"]])
def test_the_decoder_finds_the_frames_in_a_noisy_stream_and_counts_the_rest(
    vector: StreamVector,
) -> None:
    data = wire(vector["bytes"])
    whole, byte_by_byte = Decoder(), Decoder()
    frames = whole.feed(data)
    frames_one_at_a_time = [
        frame for i in range(len(data)) for frame in byte_by_byte.feed(data[i : i + 1])
    ]
    assert [encode(frame) for frame in frames] == [wire(line) for line in vector["frames"]]
    assert frames_one_at_a_time == frames
    assert whole.counters == vector["counters"]
    assert byte_by_byte.counters == vector["counters"]


def test_the_vectors_cover_every_frame_type_and_every_rejection_kind() -> None:
    assert {vector["type"] for vector in VECTORS["frames"]} == set(FRAME_CLASSES)
    assert {vector["reject"] for vector in VECTORS["rejected"]} == {
        kind.value for kind in RejectKind
    }
    assert VECTORS["protocol"] == firmware_bridge.PROTOCOL_VERSION


def test_every_example_in_the_protocol_document_is_a_vector() -> None:
    doc = Path(firmware_bridge.__file__).with_name("PROTOCOL.md").read_text(encoding="utf-8")
    examples = re.findall(r"^\$[A-Z]+[,*].*$", doc, flags=re.MULTILINE)
    lines = {vector["line"] for vector in VECTORS["frames"]}
    assert examples
    assert {example + "\n" for example in examples} <= lines
