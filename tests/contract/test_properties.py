"""Every payload and topic survives encoding; garbage is refused with a ContractError naming it."""

from __future__ import annotations

import json
import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract import (
    PAYLOAD_MODELS,
    AccessList,
    AclEntry,
    Badge,
    BadgeDecision,
    BookedSlot,
    Command,
    CommandAction,
    ContractError,
    EndReason,
    GatewayBookings,
    GatewayPolicy,
    GatewayStatus,
    GatewayStatusValue,
    GatewayTopic,
    MachineBookings,
    MachinePolicy,
    MachineState,
    MachineTopic,
    OpenWindow,
    SessionRecord,
    StateChange,
    Telemetry,
    TopicKind,
    decode_message,
    decode_payload,
    decode_telemetry,
    encode_payload,
    parse_topic,
)
from contract.payloads import CEILING_W, MAX_EPOCH_MS, MAX_PAYLOAD_BYTES, Envelope
from contract.topics import ID_PATTERN, MACHINE_KINDS

# Correctness only: a slow machine must not turn a round trip into a failure.
no_deadline = settings(deadline=None)

ids = st.from_regex(f"^{ID_PATTERN}$", fullmatch=True)
message_ids = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=128
)
session_ids = st.uuids().map(str)
epoch_ms = st.integers(min_value=0, max_value=MAX_EPOCH_MS)
counts = st.integers(min_value=0, max_value=2**53)
# Bounded so that sums of durations stay finite; JSON carries any finite double exactly.
amounts = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)
signed = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
card_hashes = st.binary(min_size=32, max_size=32).map(bytes.hex)
short_texts = st.text(min_size=1, max_size=64)


@st.composite
def session_records(draw: st.DrawFn) -> SessionRecord:
    """A closed session whose times, durations and energy agree with each other."""
    durations = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
    running = draw(durations)
    idle = draw(durations)
    unlocked = running + idle + draw(durations)
    span_ms = math.ceil(unlocked * 1000)
    started = draw(st.integers(min_value=0, max_value=MAX_EPOCH_MS - span_ms))
    ended = started + span_ms
    most_wh = CEILING_W * span_ms / 3_600_000
    return SessionRecord(
        id=draw(session_ids),
        ts=draw(epoch_ms),
        machine=draw(ids),
        member=draw(ids),
        card=draw(card_hashes),
        started=started,
        ended=ended,
        unlocked_s=unlocked,
        running_s=running,
        idle_s=idle,
        energy_wh=draw(st.floats(min_value=0, max_value=most_wh)),
        end_reason=draw(st.sampled_from(EndReason)),
        clock_ok=draw(st.booleans()),
    )


@st.composite
def gateway_statuses(draw: st.DrawFn) -> GatewayStatus:
    """A status with or without a spool, the oldest message's age only when one waits."""
    spool = draw(st.none() | st.integers(min_value=0, max_value=2**53 - 1))
    oldest = None
    if spool:
        oldest = draw(st.none() | st.floats(min_value=0, max_value=MAX_EPOCH_MS / 1000))
    return GatewayStatus(
        id=draw(message_ids),
        ts=draw(epoch_ms),
        status=draw(st.sampled_from(GatewayStatusValue)),
        version=draw(short_texts),
        machines=tuple(draw(st.lists(ids, max_size=8))),
        spool=spool,
        spool_oldest_s=oldest,
    )


@st.composite
def machine_policies(draw: st.DrawFn) -> MachinePolicy:
    """A valid policy: idle below run, the hysteresis below idle."""
    idle = draw(st.floats(min_value=0.01, max_value=500, allow_nan=False))
    run = draw(st.floats(min_value=idle, max_value=1000, exclude_min=True, allow_nan=False))
    margin = draw(st.floats(min_value=0, max_value=idle, exclude_max=True, allow_nan=False))
    seconds = st.floats(min_value=1, max_value=86_400, allow_nan=False)
    return MachinePolicy(
        machine=draw(ids),
        idle_amps=idle,
        run_amps=run,
        hysteresis_amps=margin,
        min_dwell_s=draw(st.floats(min_value=0, max_value=3600, allow_nan=False)),
        idle_timeout_s=draw(seconds),
        max_duration_s=draw(seconds),
        warn_before_s=draw(seconds),
        out_of_order=draw(st.none() | short_texts),
    )


def spans() -> st.SearchStrategy[tuple[int, int]]:
    """A start and a later end, in epoch milliseconds."""
    return st.tuples(st.integers(0, MAX_EPOCH_MS - 1), st.integers(1, 7 * 86_400_000)).map(
        lambda s: (s[0], min(MAX_EPOCH_MS, s[0] + s[1]))
    )


@st.composite
def machine_bookings(draw: st.DrawFn) -> MachineBookings:
    """A machine's coming bookings and opening windows."""
    slots = tuple(
        BookedSlot(id=i, member=draw(ids), start=start, end=end)
        for i, (start, end) in enumerate(draw(st.lists(spans(), max_size=4)))
    )
    windows = draw(
        st.none()
        | st.lists(spans(), max_size=4).map(
            lambda ws: tuple(OpenWindow(start=a, end=b) for a, b in ws)
        )
    )
    return MachineBookings(
        machine=draw(ids),
        until=draw(epoch_ms),
        bookings=slots,
        open=windows,
        grace_s=draw(st.floats(0, 86_400)),
        warn_before_s=draw(st.floats(0, 86_400)),
    )


PAYLOADS: dict[TopicKind, st.SearchStrategy[Envelope]] = {
    TopicKind.TELEMETRY: st.builds(
        Telemetry,
        id=message_ids,
        ts=epoch_ms,
        seq=counts,
        amps=amounts,
        volts=st.none() | amounts,
        watts=st.none() | signed,
        wh=st.none() | amounts,
        state=st.sampled_from(MachineState),
    ),
    TopicKind.STATE: st.builds(
        StateChange,
        id=message_ids,
        ts=epoch_ms,
        state=st.sampled_from(MachineState),
        member=st.none() | ids,
        session=st.none() | session_ids,
        since=epoch_ms,
    ),
    TopicKind.SESSIONS: session_records(),
    TopicKind.BADGES: st.builds(
        Badge,
        id=message_ids,
        ts=epoch_ms,
        card=card_hashes,
        decision=st.sampled_from(BadgeDecision),
        reason=short_texts,
        member=st.none() | ids,
        session=st.none() | session_ids,
    ),
    TopicKind.ACL: st.builds(
        AccessList,
        id=message_ids,
        ts=epoch_ms,
        version=counts,
        entries=st.lists(
            st.builds(
                AclEntry,
                card=card_hashes,
                member=ids,
                until=st.none() | epoch_ms,
                credit_s=st.none() | amounts,
                credit_until=st.none() | epoch_ms,
            ),
            max_size=5,
        ).map(tuple),
    ),
    TopicKind.COMMANDS: st.builds(
        Command,
        id=message_ids,
        ts=epoch_ms,
        action=st.sampled_from(CommandAction),
        by=short_texts,
    ),
    TopicKind.STATUS: gateway_statuses(),
    TopicKind.CONFIG: st.builds(
        GatewayPolicy,
        id=message_ids,
        ts=epoch_ms,
        version=counts,
        machines=st.lists(machine_policies(), max_size=8, unique_by=lambda m: m.machine).map(tuple),
    ),
    TopicKind.BOOKINGS: st.builds(
        GatewayBookings,
        id=message_ids,
        ts=epoch_ms,
        version=counts,
        machines=st.lists(machine_bookings(), max_size=4, unique_by=lambda m: m.machine).map(tuple),
    ),
}


def test_every_payload_model_has_a_strategy() -> None:
    assert set(PAYLOADS) == set(PAYLOAD_MODELS)


@pytest.mark.parametrize("kind", list(TopicKind), ids=[k.value for k in TopicKind])
@no_deadline
@given(data=st.data())
def test_payload_round_trips_through_json(kind: TopicKind, data: st.DataObject) -> None:
    payload = data.draw(PAYLOADS[kind])
    assert decode_payload(kind, encode_payload(payload)) == payload


@no_deadline
@given(site=ids, machine=ids, kind=st.sampled_from(sorted(MACHINE_KINDS)))
def test_machine_topic_round_trips(site: str, machine: str, kind: TopicKind) -> None:
    topic = MachineTopic(site, machine, kind)
    assert parse_topic(str(topic)) == topic


@no_deadline
@given(site=ids, gateway=ids)
def test_gateway_topic_round_trips(site: str, gateway: str) -> None:
    topic = GatewayTopic(site, gateway)
    assert parse_topic(str(topic)) == topic


def telemetry_json(**changes: object) -> bytes:
    """A valid telemetry payload as JSON bytes, with some fields replaced or removed (None)."""
    fields: dict[str, object] = {
        "v": 1,
        "id": "gw-1:lathe-1:1",
        "ts": 1_767_225_600_000,
        "seq": 1,
        "amps": 2.5,
        "state": "running",
    }
    fields.update(changes)
    return json.dumps({k: v for k, v in fields.items() if v is not None}).encode()


def session_json(**changes: object) -> bytes:
    """A valid closed-session payload as JSON bytes, with some fields replaced."""
    fields: dict[str, object] = {
        "v": 1,
        "id": str(uuid.UUID(int=7)),
        "ts": 1_767_225_600_000,
        "machine": "lathe-1",
        "member": "anna-rossi",
        "card": "ab" * 32,
        "started": 1_767_222_000_000,
        "ended": 1_767_225_600_000,
        "unlocked_s": 3600.0,
        "running_s": 3000.0,
        "idle_s": 600.0,
        "energy_wh": 900.0,
        "end_reason": "badge_out",
        "clock_ok": True,
    }
    fields.update(changes)
    return json.dumps(fields).encode()


def status_json(**changes: object) -> bytes:
    """A valid gateway status as JSON bytes, as gateways before the spool fields sent it."""
    fields: dict[str, object] = {
        "v": 1,
        "id": "gw-1-online-1767225600000",
        "ts": 1_767_225_600_000,
        "status": "online",
        "version": "0.1.0",
        "machines": ["lathe-1"],
    }
    fields.update(changes)
    return json.dumps(fields).encode()


def rejection(kind: TopicKind, raw: bytes) -> ContractError:
    """The error decoding raw as kind raises; fails the test when it raises anything else."""
    with pytest.raises(ContractError) as caught:
        decode_payload(kind, raw)
    assert type(caught.value) is ContractError
    return caught.value


def test_valid_samples_are_accepted() -> None:
    assert decode_payload(TopicKind.TELEMETRY, telemetry_json()) is not None
    assert decode_payload(TopicKind.SESSIONS, session_json()) is not None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param(b"amps=2.5", "(root)", id="not-json"),
        pytest.param(b"\xff\xfe{}", "(root)", id="not-utf8"),
        pytest.param(b"[1, 2]", "(root)", id="not-an-object"),
        pytest.param(telemetry_json(amps="lots"), "amps", id="amps-a-string"),
        pytest.param(telemetry_json(amps=-0.5), "amps", id="negative-amps"),
        pytest.param(telemetry_json(amps=None), "amps", id="amps-missing"),
        pytest.param(telemetry_json(seq=-1), "seq", id="negative-seq"),
        pytest.param(telemetry_json(seq="1"), "seq", id="seq-a-string"),
        pytest.param(telemetry_json(ts=1.5), "ts", id="ts-fractional"),
        pytest.param(telemetry_json(ts=MAX_EPOCH_MS + 1), "ts", id="ts-after-2100"),
        pytest.param(telemetry_json(v=2), "v", id="wrong-version"),
        pytest.param(telemetry_json(id=""), "id", id="empty-id"),
        pytest.param(telemetry_json(id="has space"), "id", id="id-with-space"),
        pytest.param(telemetry_json(state="exploded"), "state", id="unknown-state"),
    ],
)
def test_garbage_telemetry_is_refused_naming_the_field(raw: bytes, field: str) -> None:
    assert rejection(TopicKind.TELEMETRY, raw).field == field


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(telemetry_json(), id="valid"),
        pytest.param(b"amps=2.5", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(telemetry_json(amps=-0.5, seq="1"), id="two-bad-fields"),
        pytest.param(telemetry_json(state="exploded"), id="unknown-state"),
        pytest.param(
            telemetry_json(amps=0).replace(b'"amps": 0', b'"amps": NaN'), id="non-finite-amps"
        ),
        pytest.param(b" " * (MAX_PAYLOAD_BYTES + 1), id="oversized"),
    ],
)
def test_the_telemetry_path_decides_as_decode_payload(raw: bytes) -> None:
    try:
        expected = decode_payload(TopicKind.TELEMETRY, raw)
    except ContractError as err:
        with pytest.raises(ContractError) as caught:
            decode_telemetry(raw)
        assert caught.value.problems == err.problems
        assert str(caught.value) == str(err)
    else:
        assert decode_telemetry(raw) == expected


def test_a_status_without_spool_fields_is_still_valid() -> None:
    status = decode_payload(TopicKind.STATUS, status_json())
    assert isinstance(status, GatewayStatus)
    assert (status.spool, status.spool_oldest_s) == (None, None)


def test_a_status_with_its_spool_reads_back() -> None:
    status = decode_payload(TopicKind.STATUS, status_json(spool=120, spool_oldest_s=95.5))
    assert isinstance(status, GatewayStatus)
    assert (status.spool, status.spool_oldest_s) == (120, 95.5)
    empty = decode_payload(TopicKind.STATUS, status_json(spool=0))
    assert isinstance(empty, GatewayStatus)
    assert (empty.spool, empty.spool_oldest_s) == (0, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"spool": -1}, "spool", id="negative-spool"),
        pytest.param({"spool": "x"}, "spool", id="spool-a-word"),
        pytest.param({"spool": "3"}, "spool", id="spool-a-numeral"),
        pytest.param({"spool": 2.5}, "spool", id="spool-fractional"),
        pytest.param({"spool": True}, "spool", id="spool-a-bool"),
        pytest.param({"spool": 2**53}, "spool", id="spool-beyond-a-float"),
        pytest.param({"spool": [1]}, "spool", id="spool-a-list"),
        pytest.param({"spool": 3, "spool_oldest_s": -0.5}, "spool_oldest_s", id="negative-age"),
        pytest.param({"spool": 3, "spool_oldest_s": "60"}, "spool_oldest_s", id="age-a-numeral"),
        pytest.param({"spool": 3, "spool_oldest_s": 5e9}, "spool_oldest_s", id="age-past-2100"),
        pytest.param({"spool_oldest_s": 60}, "spool_oldest_s", id="age-without-spool"),
        pytest.param({"spool": 0, "spool_oldest_s": 60}, "spool_oldest_s", id="age-of-nothing"),
        pytest.param({"status": "asleep"}, "status", id="unknown-status"),
        pytest.param({"machines": ["Lathe 1"]}, "machines.0", id="machine-bad-id"),
    ],
)
def test_garbage_status_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    assert rejection(TopicKind.STATUS, status_json(**changes)).field == field


def test_a_bad_spool_is_the_only_problem_reported() -> None:
    error = rejection(TopicKind.STATUS, status_json(spool=-1, spool_oldest_s=60))
    assert [p.field for p in error.problems] == ["spool"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity"])
def test_a_non_finite_spool_age_is_refused(literal: str) -> None:
    raw = status_json(spool=1, spool_oldest_s=0).replace(
        b'"spool_oldest_s": 0', f'"spool_oldest_s": {literal}'.encode()
    )
    assert literal.encode() in raw
    assert rejection(TopicKind.STATUS, raw).field == "spool_oldest_s"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_amps_are_refused(literal: str) -> None:
    raw = telemetry_json(amps=0).replace(b'"amps": 0', f'"amps": {literal}'.encode())
    assert literal.encode() in raw
    assert rejection(TopicKind.TELEMETRY, raw).field == "amps"


@pytest.mark.parametrize(
    ("credit", "field"),
    [
        pytest.param({"credit_s": -1}, "entries.0.credit_s", id="negative-credit"),
        pytest.param({"credit_s": "sixty"}, "entries.0.credit_s", id="credit-a-word"),
        pytest.param({"credit_until": -5}, "entries.0.credit_until", id="credit-until-negative"),
    ],
)
def test_garbage_credit_in_an_access_list_is_refused_naming_the_field(
    credit: dict[str, object], field: str
) -> None:
    entry = {"card": "ab" * 32, "member": "anna", **credit}
    raw = json.dumps({"v": 1, "id": "acl-1", "ts": 0, "version": 1, "entries": [entry]})
    assert rejection(TopicKind.ACL, raw.encode()).field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"member": "Anna_Rossi"}, "member", id="member-bad-id"),
        pytest.param({"machine": "-lathe"}, "machine", id="machine-bad-id"),
        pytest.param({"card": "04A1B2C3"}, "card", id="card-in-clear"),
        pytest.param({"end_reason": "bored"}, "end_reason", id="unknown-end-reason"),
        pytest.param({"clock_ok": "maybe"}, "clock_ok", id="clock-ok-not-bool"),
    ],
)
def test_garbage_session_is_refused_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    assert rejection(TopicKind.SESSIONS, session_json(**changes)).field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"id": "not-a-uuid"}, "id", id="id-not-a-uuid"),
        pytest.param({"ended": 1_767_221_999_999}, "ended", id="ended-before-started"),
        pytest.param({"running_s": 3500.0}, "idle_s", id="running-longer-than-unlocked"),
    ],
)
def test_session_rule_across_fields_names_the_field(changes: dict[str, object], field: str) -> None:
    assert rejection(TopicKind.SESSIONS, session_json(**changes)).field == field


def test_session_that_ends_before_it_starts_is_refused() -> None:
    error = rejection(TopicKind.SESSIONS, session_json(ended=1_767_221_999_999))
    assert "ended: must not be before started" in str(error)


def test_session_running_longer_than_unlocked_is_refused() -> None:
    error = rejection(TopicKind.SESSIONS, session_json(running_s=3500.0, idle_s=600.0))
    assert "running_s + idle_s" in str(error)


def test_oversized_payload_is_refused_before_parsing() -> None:
    raw = telemetry_json(id="x" * 100).replace(b"x" * 100, b"x" * (MAX_PAYLOAD_BYTES + 1))
    error = rejection(TopicKind.TELEMETRY, raw)
    assert error.field == "(root)"
    assert "larger than" in str(error)


@pytest.mark.parametrize(
    ("topic", "field"),
    [
        pytest.param("officina/v1/site-a/machines/lathe-1", "topic", id="too-few-levels"),
        pytest.param("officina/v1/site-a/machines/lathe-1/telemetry/x", "topic", id="too-many"),
        pytest.param("workshop/v1/site-a/machines/lathe-1/telemetry", "root", id="wrong-root"),
        pytest.param("officina/v2/site-a/machines/lathe-1/telemetry", "version", id="wrong-v"),
        pytest.param("officina/v1/Site_A/machines/lathe-1/telemetry", "site", id="bad-site"),
        pytest.param("officina/v1/site-a/machines/Lathe 1/telemetry", "machine", id="bad-machine"),
        pytest.param("officina/v1/site-a/machines//telemetry", "machine", id="empty-machine"),
        pytest.param("officina/v1/site-a/machines/lathe-1/gossip", "kind", id="unknown-kind"),
        pytest.param("officina/v1/site-a/robots/arm-1/telemetry", "family", id="bad-family"),
        pytest.param("officina/v1/site-a/gateways/gw-1/telemetry", "kind", id="gateway-kind"),
        pytest.param("officina/v1/site-a/machines/lathe-1/status", "kind", id="machine-status"),
        pytest.param("officina/v1/site-a/gateways/GW!/status", "gateway", id="bad-gateway"),
    ],
)
def test_malformed_topic_is_refused_naming_the_level(topic: str, field: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_topic(topic)
    assert type(caught.value) is ContractError
    assert caught.value.field == field


def test_bad_topic_is_refused_before_the_payload_is_read() -> None:
    with pytest.raises(ContractError) as caught:
        decode_message("officina/v1/site-a/machines/lathe-1/gossip", b"not json")
    assert caught.value.field == "kind"


@pytest.mark.parametrize("reason", ["", "x" * 65, 7])
def test_a_config_with_a_bad_out_of_order_reason_is_refused_naming_the_field(
    reason: object,
) -> None:
    body = {
        "v": 1,
        "id": "config-gw-1-3",
        "ts": 1_767_225_600_000,
        "version": 3,
        "machines": [{"machine": "lathe-1", "out_of_order": reason}],
    }
    with pytest.raises(ContractError) as refused:
        decode_payload(TopicKind.CONFIG, json.dumps(body).encode())
    assert "machines.0.out_of_order" in str(refused.value)
