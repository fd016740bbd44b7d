"""Payload models of wire contract v1, one per topic kind, validated with pydantic v2.

Every payload is a JSON object with `v` (always 1), `id` (an idempotency key) and `ts` (UTC epoch
milliseconds on the sender's clock). Unknown fields are ignored so that v1 can grow optional fields
without breaking older readers; a missing or malformed known field is an error naming that field.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from contract.errors import ContractError
from contract.topics import Id, TopicKind

MAX_PAYLOAD_BYTES = 1 << 20
# 2100-01-01T00:00:00Z: anything later is a clock gone mad, not a date.
MAX_EPOCH_MS = 4_102_444_800_000
# Running and idle seconds are measured between samples; allow this much slack over unlocked time.
DURATION_SLACK_S = 2.0
# A session's durations are measured on the gateway's monotonic clock and its span is made of
# them (`ended` = `started` + unlocked time, rounded to the millisecond): a second is plenty.
SPAN_SLACK_S = 1.0
# More than any machine a shared workshop's supply feeds (a 3-phase 400 V, 125 A board is
# about 87 kW): energy beyond this power over the session's span is a broken meter or a forgery.
CEILING_W = 100_000.0
# Integers are stored as 64-bit (PostgreSQL BIGINT, InfluxDB integers): nothing larger fits.
INT64_MAX = (1 << 63) - 1


def _canonical_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


MessageId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
SessionId = Annotated[str, AfterValidator(_canonical_uuid)]
EpochMs = Annotated[int, Field(ge=0, le=MAX_EPOCH_MS, strict=True)]
Counter64 = Annotated[int, Field(ge=0, le=INT64_MAX, strict=True)]
CardHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Counts are written to InfluxDB as floats: 2**53 - 1 is the largest a float holds exactly.
Count = Annotated[int, Field(ge=0, le=2**53 - 1, strict=True)]
# An age in seconds: no older than the epoch itself.
AgeSeconds = Annotated[float, Field(ge=0, le=MAX_EPOCH_MS / 1000, allow_inf_nan=False, strict=True)]


class MachineState(StrEnum):
    """What a machine is doing, as its gateway sees it."""

    LOCKED = "locked"
    UNLOCKED = "unlocked"
    IDLE = "idle"
    RUNNING = "running"
    FAULT = "fault"
    OFFLINE = "offline"


class EndReason(StrEnum):
    """Why a session ended."""

    BADGE_OUT = "badge_out"
    IDLE_TIMEOUT = "idle_timeout"
    MAX_DURATION = "max_duration"
    TAKEOVER = "takeover"
    POWER_LOSS = "power_loss"
    REMOTE_LOCK = "remote_lock"


class BadgeDecision(StrEnum):
    """The gateway's answer to a card."""

    GRANTED = "granted"
    DENIED = "denied"


class CommandAction(StrEnum):
    """What a remote command asks of a machine."""

    LOCK = "lock"
    UNLOCK = "unlock"


class GatewayStatusValue(StrEnum):
    """A gateway's presence on the broker."""

    ONLINE = "online"
    OFFLINE = "offline"


class Envelope(BaseModel):
    """Fields every v1 payload carries."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    kind: ClassVar[TopicKind]

    v: Literal[1] = 1
    id: MessageId
    ts: EpochMs


class Telemetry(Envelope):
    """One measurement of a machine's current (1 Hz by default)."""

    kind: ClassVar[TopicKind] = TopicKind.TELEMETRY

    seq: Counter64
    amps: NonNegative
    volts: NonNegative | None = None
    watts: Finite | None = None
    wh: NonNegative | None = None
    state: MachineState


class StateChange(Envelope):
    """A machine's state, published retained on every change."""

    kind: ClassVar[TopicKind] = TopicKind.STATE

    state: MachineState
    member: Id | None = None
    session: SessionId | None = None
    since: EpochMs


class SessionRecord(Envelope):
    """A closed session, made at the edge where the card and the current meet."""

    kind: ClassVar[TopicKind] = TopicKind.SESSIONS

    machine: Id
    member: Id
    card: CardHash
    started: EpochMs
    ended: EpochMs
    unlocked_s: NonNegative
    running_s: NonNegative
    idle_s: NonNegative
    energy_wh: NonNegative
    end_reason: EndReason
    clock_ok: bool

    @field_validator("id")
    @classmethod
    def _id_is_uuid(cls, value: str) -> str:
        return _canonical_uuid(value)

    @field_validator("ended")
    @classmethod
    def _ended_after_started(cls, value: int, info: ValidationInfo) -> int:
        started = info.data.get("started")
        if started is not None and value < started:
            raise ValueError("must not be before started")
        return value

    @field_validator("unlocked_s", "running_s", "idle_s")
    @classmethod
    def _within_span(cls, value: float, info: ValidationInfo) -> float:
        span_s = _span_s(info)
        if span_s is not None and value > span_s + SPAN_SLACK_S:
            raise ValueError(
                f"must not exceed the session's span (ended - started = {span_s:g} s) "
                f"by more than {SPAN_SLACK_S:g} s"
            )
        return value

    @field_validator("energy_wh")
    @classmethod
    def _within_ceiling(cls, value: float, info: ValidationInfo) -> float:
        span_s = _span_s(info)
        if span_s is not None and value > CEILING_W * (span_s + SPAN_SLACK_S) / 3600:
            raise ValueError(
                f"more than {CEILING_W:g} W could draw in the session's span of {span_s:g} s"
            )
        return value

    @field_validator("idle_s")
    @classmethod
    def _durations_fit(cls, value: float, info: ValidationInfo) -> float:
        unlocked, running = info.data.get("unlocked_s"), info.data.get("running_s")
        fits = unlocked is None or running is None or running + value <= unlocked + DURATION_SLACK_S
        if not fits:
            raise ValueError("running_s + idle_s must not exceed unlocked_s")
        return value


def _span_s(info: ValidationInfo) -> float | None:
    """A session's span in seconds, once `started` and `ended` were both valid."""
    started, ended = info.data.get("started"), info.data.get("ended")
    if started is None or ended is None:
        return None
    return float(ended - started) / 1000


class Badge(Envelope):
    """A card presented at a machine and what the gateway decided."""

    kind: ClassVar[TopicKind] = TopicKind.BADGES

    card: CardHash
    decision: BadgeDecision
    reason: ShortText
    member: Id | None = None
    session: SessionId | None = None


class AclEntry(BaseModel):
    """One card allowed on a machine, for a member, optionally until a time.

    `staff` marks a member who looks after the machine: she may run it when it is out of order
    (for the repair) and during other members' bookings. `credit_s`, for a member whose plan
    requires credit, is the running time her credit still buys at this machine (absent: no
    credit rule here); `credit_until` is when the last session the api counted in it ended, so
    the gateway takes off only the sessions it closed after that.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    card: CardHash
    member: Id
    until: EpochMs | None = None
    staff: bool = False
    credit_s: NonNegative | None = None
    credit_until: EpochMs | None = None


class AccessList(Envelope):
    """A machine's whole access list, published retained by the api."""

    kind: ClassVar[TopicKind] = TopicKind.ACL

    version: Counter64
    entries: tuple[AclEntry, ...]


# Run thresholds and session rules within what any workshop machine needs; a week is longer
# than any session a shared machine should stay unlocked for.
Amps = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
MarginAmps = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
DwellSeconds = Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)]
RuleSeconds = Annotated[float, Field(gt=0, le=7 * 86_400, allow_inf_nan=False)]
WarnSeconds = Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]


class Policy(BaseModel):
    """A machine's run thresholds and session rules; a field left out takes its default.

    Run detection: `off < idle_amps ≤ idle < run_amps ≤ running`, a level left only below its
    threshold by `hysteresis_amps` and accepted after `min_dwell_s`. A session ends after
    `idle_timeout_s` without running, or `max_duration_s` after it began, with a warning
    `warn_before_s` before either.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    idle_amps: Amps = 0.5
    run_amps: Amps = 2.0
    hysteresis_amps: MarginAmps = 0.0
    min_dwell_s: DwellSeconds = 2.0
    idle_timeout_s: RuleSeconds = 900.0
    max_duration_s: RuleSeconds = 8 * 3600.0
    warn_before_s: WarnSeconds = 60.0

    @field_validator("run_amps")
    @classmethod
    def _run_above_idle(cls, value: float, info: ValidationInfo) -> float:
        idle = info.data.get("idle_amps")
        if idle is not None and value <= idle:
            raise ValueError("must be greater than idle_amps")
        return value

    @field_validator("hysteresis_amps")
    @classmethod
    def _hysteresis_below_idle(cls, value: float, info: ValidationInfo) -> float:
        idle = info.data.get("idle_amps")
        if idle is not None and value >= idle:
            raise ValueError("must be smaller than idle_amps")
        return value


POLICY_FIELDS = tuple(Policy.model_fields)


class MachinePolicy(Policy):
    """One machine's policy, as its gateway's config carries it.

    `out_of_order` is set, to the reason in short words, while a fault is open on the machine
    or a critical service of it is due: only its staff may start a session then.
    """

    machine: Id
    out_of_order: ShortText | None = None


class GatewayPolicy(Envelope):
    """The policy of every machine a gateway serves, published retained by the api.

    A higher `version` replaces the whole config; a machine the gateway serves but the config
    does not name keeps the policy it has.
    """

    kind: ClassVar[TopicKind] = TopicKind.CONFIG

    version: Counter64
    machines: tuple[MachinePolicy, ...]

    @field_validator("machines")
    @classmethod
    def _each_machine_once(cls, value: tuple[MachinePolicy, ...]) -> tuple[MachinePolicy, ...]:
        ids = [m.machine for m in value]
        if len(set(ids)) != len(ids):
            raise ValueError("each machine may appear once")
        return value


class UtcInterval(BaseModel):
    """From `start` until `end`, absolute UTC times: no time zone needed to read them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    start: EpochMs
    end: EpochMs

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("must be after start")
        return value


class OpenWindow(UtcInterval):
    """An interval the machine is open."""


class BookedSlot(UtcInterval):
    """One coming booking of a machine: who booked it, from when until when."""

    id: Counter64
    member: Id


class MachineBookings(BaseModel):
    """A machine's coming bookings and opening windows from `ts` until `until`.

    `open` None: no opening hours, the machine is open whenever it is not booked. A booking
    nobody badged in for by `grace_s` after its start is free again; whoever runs the machine
    is warned `warn_before_s` before the next booking. Past `until` nothing is known: the
    machine is treated as open and free.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    machine: Id
    until: EpochMs
    bookings: tuple[BookedSlot, ...] = ()
    open: tuple[OpenWindow, ...] | None = None
    grace_s: WarnSeconds = 900.0
    warn_before_s: WarnSeconds = 600.0


class GatewayBookings(Envelope):
    """The coming bookings of every bookable machine a gateway serves, retained by the api."""

    kind: ClassVar[TopicKind] = TopicKind.BOOKINGS

    version: Counter64
    machines: tuple[MachineBookings, ...]

    @field_validator("machines")
    @classmethod
    def _each_machine_once(cls, value: tuple[MachineBookings, ...]) -> tuple[MachineBookings, ...]:
        ids = [m.machine for m in value]
        if len(set(ids)) != len(ids):
            raise ValueError("each machine may appear once")
        return value


class Command(Envelope):
    """A remote lock or unlock of a machine."""

    kind: ClassVar[TopicKind] = TopicKind.COMMANDS

    action: CommandAction
    by: ShortText


class GatewayStatus(Envelope):
    """A gateway's presence, retained, and also its last will.

    An online gateway sends it on connecting and again every so often with its spool: the
    messages it holds that the broker has not acknowledged yet, and how old the oldest of them
    is at `ts`. A last will cannot know them and leaves them out, as gateways before them did.
    """

    kind: ClassVar[TopicKind] = TopicKind.STATUS

    status: GatewayStatusValue
    version: ShortText
    machines: tuple[Id, ...] = ()
    spool: Count | None = None
    spool_oldest_s: AgeSeconds | None = None

    @field_validator("spool_oldest_s")
    @classmethod
    def _oldest_needs_a_spool(cls, value: float | None, info: ValidationInfo) -> float | None:
        # A spool that failed its own rule is not in info.data: that error is enough.
        if value is not None and "spool" in info.data and not info.data["spool"]:
            raise ValueError("only with a spool of at least one message")
        return value


Payload = (
    Telemetry
    | StateChange
    | SessionRecord
    | Badge
    | AccessList
    | Command
    | GatewayStatus
    | GatewayPolicy
    | GatewayBookings
)

PAYLOAD_MODELS: dict[TopicKind, type[Envelope]] = {
    model.kind: model
    for model in (
        Telemetry,
        StateChange,
        SessionRecord,
        Badge,
        AccessList,
        Command,
        GatewayStatus,
        GatewayPolicy,
        GatewayBookings,
    )
}


def encode_payload(payload: Envelope) -> bytes:
    """Serialise a payload to the compact JSON bytes sent on the wire."""
    return payload.model_dump_json(exclude_none=True).encode("utf-8")


def decode_payload(kind: TopicKind, raw: bytes) -> Envelope:
    """Parse and validate raw bytes as the payload of a topic kind."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ContractError.single("(root)", f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
    # The model's validator itself: what `model_validate_json` calls, without its per-call checks.
    validator = PAYLOAD_MODELS[kind].__pydantic_validator__
    try:
        return cast(Envelope, validator.validate_json(raw))
    except ValidationError as err:
        raise ContractError.from_validation(err) from err


_TELEMETRY_VALIDATOR = Telemetry.__pydantic_validator__


def decode_telemetry(raw: bytes) -> Telemetry:
    """`decode_payload` for telemetry, the one kind on the hot path: the same checks and errors."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ContractError.single("(root)", f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        return cast(Telemetry, _TELEMETRY_VALIDATOR.validate_json(raw))
    except ValidationError as err:
        raise ContractError.from_validation(err) from err
