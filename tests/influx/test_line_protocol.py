"""Line protocol: every name and string survives escaping; what cannot be written is refused."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import EndReason, MachineState, SessionRecord, StateChange, Telemetry, card_hash
from contract.payloads import CEILING_W
from contract.reading import TelemetryReading, read_telemetry
from harness.influxdb import InfluxDatabase
from services.influx.line_protocol import (
    INT64_MAX,
    INT64_MIN,
    FieldValue,
    LineProtocolError,
    Point,
)
from services.ingest.schema import (
    MACHINE_STATE,
    TELEMETRY,
    series_key,
    session_line,
    session_point,
    state_line,
    state_point,
    telemetry_line,
    telemetry_point,
)
from services.ledger import member_pseudonym
from tests.influx.lineproto_reader import read_line

# Backslashes and line breaks are refused in names (InfluxDB versions disagree on them).
names = st.text(st.characters(codec="utf-8", exclude_characters="\\\n\r"), min_size=1)
measurements = names.filter(lambda name: not name.startswith("#"))
field_values: st.SearchStrategy[FieldValue] = st.one_of(
    st.booleans(),
    st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8")),
)
times = st.integers(min_value=0, max_value=4_102_444_800_000)


@given(
    measurement=measurements,
    tags=st.dictionaries(names, names, max_size=4),
    fields=st.dictionaries(names, field_values, min_size=1, max_size=4),
    time_ms=times,
)
def test_any_point_reads_back_exactly_as_written(
    measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], time_ms: int
) -> None:
    line = Point(measurement, fields, time_ms, tags).to_line()

    read = read_line(line)

    assert read.measurement == measurement
    assert read.tags == tags
    assert read.time == time_ms
    assert read.fields.keys() == fields.keys()
    for key, value in fields.items():
        assert type(read.fields[key]) is type(value)
        assert read.fields[key] == value


@given(text=st.text(st.characters(codec="utf-8")))
def test_a_string_field_is_quoted_with_only_quotes_and_backslashes_escaped(text: str) -> None:
    line = Point("m", {"note": text}, 0).to_line()

    body = line[len('m note="') : -len('" 0')]

    assert body.replace('\\"', "").count('"') == 0
    assert body.replace("\\\\", "").replace('\\"', "") == text.replace("\\", "").replace('"', "")


def test_integers_carry_the_i_suffix_and_floats_do_not() -> None:
    line = Point("telemetry", {"seq": 7, "amps": 3.0, "ok": True}, 1).to_line()

    assert line == "telemetry seq=7i,amps=3.0,ok=true 1"


def test_special_characters_in_names_are_escaped() -> None:
    point = Point("my meas,x", {"f k=1": 'say "hi" \\o/'}, 5, {"t,k": "a b=c"})

    assert point.to_line() == r'my\ meas\,x,t\,k=a\ b\=c f\ k\=1="say \"hi\" \\o/" 5'


def test_an_empty_tag_value_leaves_the_tag_out() -> None:
    assert Point("m", {"v": 1.5}, 0, {"site": "nord", "machine": ""}).to_line() == (
        "m,site=nord v=1.5 0"
    )


@pytest.mark.parametrize(
    ("point", "named"),
    [
        (Point("m", {"v": math.nan}, 0), "field v"),
        (Point("m", {"v": math.inf}, 0), "field v"),
        (Point("m", {"v": 1 << 63}, 0), "field v"),
        (Point("m", {}, 0), "needs at least one field"),
        (Point("", {"v": 1.0}, 0), "measurement"),
        (Point("#comment", {"v": 1.0}, 0), "measurement"),
        (Point("m", {"v": 1.0}, 0, {"machine": "a\nb"}), "tag machine"),
        (Point("m", {"v": 1.0}, 0, {"machine": "c:\\"}), "tag machine"),
        (Point("m", {"": 1.0}, 0), "field key"),
        (Point("m\rx", {"v": 1.0}, 0), "measurement"),
    ],
)
def test_a_point_that_cannot_be_written_is_refused_naming_the_part(
    point: Point, named: str
) -> None:
    with pytest.raises(LineProtocolError, match=named):
        point.to_line()


def test_awkward_names_and_strings_round_trip_through_a_real_influxdb(
    influx_db: InfluxDatabase,
) -> None:
    point = Point(
        "shop floor,west",
        {"note": 'line one\nline "two" \\ end', "amps=rms": 2.5, "count": 3},
        1_767_225_600_000,
        {"machine id": "laser, big=1", "site": "città"},
    )

    influx_db.write(point.to_line())

    [series] = influx_db.query('SELECT * FROM "shop floor,west"')
    [row] = series.rows()
    assert row == {
        "time": 1_767_225_600_000,
        "amps=rms": 2.5,
        "count": 3,
        "machine id": "laser, big=1",
        "note": 'line one\nline "two" \\ end',
        "site": "città",
    }


@given(
    amps=st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    volts=st.none() | st.floats(min_value=0, max_value=1e4, allow_nan=False),
    watts=st.none() | st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    wh=st.none() | st.floats(min_value=0, max_value=1e9, allow_nan=False),
    seq=st.integers(min_value=0, max_value=2**40),
    state=st.sampled_from(list(MachineState)),
)
def test_the_fast_telemetry_line_is_the_escaped_general_line(
    amps: float,
    volts: float | None,
    watts: float | None,
    wh: float | None,
    seq: int,
    state: MachineState,
) -> None:
    sample = Telemetry(
        id="t-1",
        ts=1_767_225_600_123,
        seq=seq,
        amps=amps,
        volts=volts,
        watts=watts,
        wh=wh,
        state=state,
    )

    series = series_key(TELEMETRY, "officina-nord", "lathe-1")
    fast = telemetry_line(series, sample)

    assert fast == telemetry_point("officina-nord", "lathe-1", sample).to_line()
    # The same sample as ingest's fast reader reads it off the wire makes the same line.
    reading = read_telemetry(sample.model_dump_json().encode())
    assert isinstance(reading, TelemetryReading)
    assert telemetry_line(series, reading) == fast


def test_the_fast_state_line_is_the_escaped_general_line() -> None:
    change = StateChange(
        id="s-1",
        ts=5,
        state=MachineState.RUNNING,
        session="7f1d1c6e-4b1a-4f49-9d7e-3f1c2a0b9e11",
        since=4,
    )

    fast = state_line(series_key(MACHINE_STATE, "officina-nord", "lathe-1"), change)

    assert fast == state_point("officina-nord", "lathe-1", change).to_line()


@given(
    member=st.from_regex(r"[a-z0-9][a-z0-9-]{0,63}", fullmatch=True),
    running_s=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    idle_s=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    energy_share=st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_the_fast_session_line_is_the_escaped_general_line(
    member: str, running_s: float, idle_s: float, energy_share: float
) -> None:
    started = 1_767_225_600_123
    # The contract wants a session's span to hold its durations and its energy a ceiling power.
    ended = started + math.ceil((running_s + idle_s) * 1000)
    record = SessionRecord(
        id="7f1d1c6e-4b1a-4f49-9d7e-3f1c2a0b9e11",
        ts=ended,
        machine="lathe-1",
        member=member,
        card=card_hash("04A1B2C3", b"k"),
        started=started,
        ended=ended,
        unlocked_s=running_s + idle_s,
        running_s=running_s,
        idle_s=idle_s,
        energy_wh=energy_share * CEILING_W * (ended - started) / 3_600_000,
        end_reason=EndReason.BADGE_OUT,
        clock_ok=True,
    )

    user = member_pseudonym(member, "a test pseudonym key, long enough: 32+")

    fast = session_line("officina-nord", record, user)

    assert fast == session_point("officina-nord", record, user).to_line()
