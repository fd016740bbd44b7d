"""The fast telemetry reader answers as the pydantic model does, on whatever it is given."""

from __future__ import annotations

import json
from typing import get_args

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contract import ContractError, MachineState, Telemetry, decode_telemetry
from contract.payloads import MAX_PAYLOAD_BYTES
from contract.reading import State, TelemetryReading, read_telemetry

FIELDS = ("v", "id", "ts", "seq", "amps", "volts", "watts", "wh", "state")

# Values near and past every bound, and of every JSON type: what a broken or hostile gateway sends.
_NUMBERS = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -0.0, 1, 4_102_444_800_000, 4_102_444_800_001, 2**63 - 1, 2**63, 1e308]),
)
_STRINGS = st.one_of(
    st.sampled_from(["running", "idle", "locked", "exploded", "", "gw-1:m:1", "a\n", "1", "2.5"]),
    st.text(max_size=8),
)
_VALUES = st.one_of(
    _NUMBERS, _STRINGS, st.booleans(), st.none(), st.lists(st.integers(), max_size=2)
)
_VALID = {
    "v": 1,
    "id": "gw-1:lathe-1:1",
    "ts": 1_767_225_600_000,
    "seq": 7,
    "amps": 2.5,
    "volts": 230,
    "watts": -3.5,
    "wh": 12.25,
    "state": "running",
}


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """A valid sample with some fields changed, dropped, repeated or added."""
    fields: dict[str, object] = dict(_VALID)
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        if draw(st.booleans()):
            fields[name] = draw(_VALUES)
        else:
            fields.pop(name, None)
    if draw(st.booleans()):
        fields[draw(st.text(max_size=6))] = draw(_VALUES)
    text = json.dumps(fields)
    if draw(st.integers(0, 9)) == 0:
        # A key given twice: both readers must take the same one.
        name = draw(st.sampled_from(FIELDS))
        text = text[:-1] + f", {json.dumps(name)}: {json.dumps(draw(_VALUES))}}}"
    return text.encode()


def _decided(raw: bytes) -> Telemetry | tuple[str, str]:
    try:
        return decode_telemetry(raw)
    except ContractError as err:
        return (err.field, str(err))


def _read_as_the_model_decides(raw: bytes) -> TelemetryReading | Telemetry | None:
    """What the reader gives (None: it refused), checked against the model's own decision."""
    expected = _decided(raw)
    try:
        got = read_telemetry(raw)
    except ContractError as err:
        assert (err.field, str(err)) == expected
        return None
    assert isinstance(expected, Telemetry), f"the model refuses {raw!r}, the reader took it"
    assert _as_model(got) == expected
    return got


def _as_model(reading: TelemetryReading | Telemetry) -> Telemetry:
    if isinstance(reading, Telemetry):
        return reading
    return Telemetry(**{name: getattr(reading, name) for name in FIELDS})


@settings(max_examples=400, deadline=None)
@given(payloads())
def test_the_fast_reader_decides_every_payload_as_the_model(raw: bytes) -> None:
    got = _read_as_the_model_decides(raw)
    if got is not None:
        expected = decode_telemetry(raw)
        # Same types too: the line protocol writes repr(float), never an int where a float was.
        for name in ("amps", "volts", "watts", "wh"):
            assert type(getattr(got, name)) is type(getattr(expected, name))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"v":1,"id":"a","ts":1,"seq":1,"amps":"2.5","state":"idle"}', id="str"),
        pytest.param(b'{"v":1,"id":"a\\n","ts":1,"seq":1,"amps":2,"state":"idle"}', id="newline"),
        pytest.param(b'{"v":1,"id":"a","ts":1.0,"seq":1,"amps":2,"state":"idle"}', id="float-ts"),
        pytest.param(b'{"v":1,"id":"a","ts":1,"seq":1,"amps":1e999,"state":"idle"}', id="inf"),
        pytest.param(b'{"v":1,"id":"a","ts":1,"seq":1,"amps":NaN,"state":"idle"}', id="nan"),
        pytest.param(b'{"v":1,"id":"a","ts":1,"seq":1,"amps":true,"state":"idle"}', id="bool"),
        pytest.param(b"\xef\xbb\xbf{}", id="bom"),
        pytest.param(b" " * (MAX_PAYLOAD_BYTES + 1), id="oversized"),
        pytest.param(b"[1, 2]", id="array"),
    ],
)
def test_what_the_fast_reader_refuses_the_model_decides(raw: bytes) -> None:
    got = _read_as_the_model_decides(raw)
    assert got is None or isinstance(got, Telemetry)  # the model's answer, not the reader's


def test_the_fast_reader_knows_every_machine_state() -> None:
    assert set(get_args(State)) == {state.value for state in MachineState}


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=130))
@example(" ")
@example("a b")
@example("a\x7f")
@example("a\x00")
@example("\u00e9")
@example("~" * 128)
@example("!" * 129)
def test_the_fast_reader_takes_the_ids_the_model_takes(ident: str) -> None:
    # The id's characters are checked without a regex: the same ids as the model's pattern.
    raw = json.dumps(_VALID | {"id": ident}).encode()
    got = _read_as_the_model_decides(raw)
    if got is not None:
        assert got.id == ident


def test_a_plain_sample_is_read_by_the_fast_reader() -> None:
    reading = read_telemetry(json.dumps(_VALID).encode())
    assert isinstance(reading, TelemetryReading)
    assert _as_model(reading) == decode_telemetry(json.dumps(_VALID).encode())
    assert reading.volts == 230.0 and isinstance(reading.volts, float)
