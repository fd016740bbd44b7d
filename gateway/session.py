"""The per-machine session state machine: pure logic fed by badges, current samples and a clock.

It never does I/O. Each call returns the effects the daemon must carry out (energise the relay,
publish a state, a badge event, a closed session, a telemetry point), so every rule here is
tested with a fake clock and no broker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

from contract import (
    Badge,
    BadgeDecision,
    EndReason,
    MachineState,
    SessionRecord,
    StateChange,
    Telemetry,
)
from firmware_bridge.clock import Clock
from gateway.access import AccessList, Gate, Notice, SessionWatcher
from gateway.energy import NEVER_WRAPS, EnergyRegister, RegisterRange, StepKind
from gateway.run_detection import Activity, RunDetector, RunThresholds, Segment

# A wall clock before this is a Pi that booted without NTP or RTC, not a real date.
PLAUSIBLE_WALL_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
CLOCK_DRIFT_TOLERANCE_S = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionPolicy:
    """When a session ends by itself and how energy is estimated without a meter."""

    idle_timeout_s: float = 900.0
    max_duration_s: float = 8 * 3600.0
    warn_before_s: float = 60.0
    # A gap in samples longer than this is not billed as running or idle: the link was down.
    max_sample_gap_s: float = 5.0
    volts_nominal: float = 230.0
    power_factor: float = 0.9
    telemetry_interval_s: float = 1.0


@dataclass(frozen=True, slots=True)
class RelayChange:
    """Energise (unlock) or de-energise (lock) the machine's interlock relay."""

    energised: bool


@dataclass(frozen=True, slots=True)
class MeterStepBack:
    """The meter's energy register stepped back: wrapped (added across) or reset (told apart)."""

    kind: StepKind
    before_wh: float
    reading_wh: float
    added_wh: float


@dataclass(frozen=True, slots=True)
class LockWarning:
    """The machine will lock itself soon, or is booked soon: sound the buzzer, light the LED."""

    reason: EndReason | str
    seconds_left: float


@dataclass(frozen=True, slots=True)
class LockWarningOver:
    """No lock is coming any more (the machine runs again, or the session ended): silence it."""


@dataclass(frozen=True, slots=True)
class UnattributedUse:
    """Current is flowing with no session open."""

    amps: float
    since_ms: int


@dataclass(frozen=True, slots=True)
class Publish:
    """A contract payload to publish on this machine's topic of the payload's kind."""

    payload: Telemetry | StateChange | SessionRecord | Badge


Effect = RelayChange | LockWarning | LockWarningOver | UnattributedUse | MeterStepBack | Publish


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenSessionSnapshot:
    """An open session as journaled to disk, so a power cut cannot lose it."""

    id: str
    member: str
    card: str
    started_wall_ms: int
    unlocked_s: float
    running_s: float
    idle_s: float
    energy_wh: float
    at_wall_ms: int

    def to_json(self) -> str:
        """The snapshot as the journal stores it."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> OpenSessionSnapshot:
        """Read a journaled snapshot back; ValueError if it is not one."""
        try:
            return cls(**json.loads(text))
        except (TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"journal: not an open-session snapshot: {err}") from err

    def lost(self, machine: str, *, now_ms: int) -> SessionRecord:
        """The session closed as `power_loss` at its last journaled moment."""
        elapsed_s = (self.at_wall_ms - self.started_wall_ms) / 1000.0
        return SessionRecord(
            id=self.id,
            ts=now_ms,
            machine=machine,
            member=self.member,
            card=self.card,
            started=self.started_wall_ms,
            ended=self.started_wall_ms + round(self.unlocked_s * 1000),
            unlocked_s=round(self.unlocked_s, 3),
            running_s=round(self.running_s, 3),
            idle_s=round(self.idle_s, 3),
            energy_wh=round(self.energy_wh, 3),
            end_reason=EndReason.POWER_LOSS,
            clock_ok=_clock_ok(self.started_wall_ms, elapsed_s, self.unlocked_s),
        )


def _clock_ok(started_wall_ms: int, wall_elapsed_s: float, unlocked_s: float) -> bool:
    """Whether the wall clock is believable and kept pace with the monotonic one."""
    return (
        started_wall_ms >= PLAUSIBLE_WALL_MS
        and abs(wall_elapsed_s - unlocked_s) <= CLOCK_DRIFT_TOLERANCE_S + 0.01 * unlocked_s
    )


@dataclass(slots=True)
class _OpenSession:
    id: str
    member: str
    card: str
    started_mono: float
    started_wall_ms: int
    last_active_mono: float
    running_s: float = 0.0
    idle_s: float = 0.0
    energy_wh: float = 0.0
    warned: set[EndReason] = field(default_factory=set)
    # Notices already given (the next booking, by its key): each sounds once.
    noticed: set[str] = field(default_factory=set)

    def bucket_add(self, activity: Activity, seconds: float) -> None:
        if activity is Activity.RUNNING:
            self.running_s += seconds
        elif activity is Activity.IDLE:
            self.idle_s += seconds

    def rebill(self, billed_as: Activity, segments: tuple[Segment, ...]) -> None:
        """Time billed as `billed_as` while a change was unconfirmed: give each stretch of it
        to what the machine really did."""
        for segment in segments:
            seconds = max(0.0, segment.end - max(segment.start, self.started_mono))
            self.bucket_add(segment.activity, self.bucket_take(billed_as, seconds))

    def bucket_take(self, activity: Activity, seconds: float) -> float:
        if activity is Activity.RUNNING:
            taken = min(seconds, self.running_s)
            self.running_s -= taken
        elif activity is Activity.IDLE:
            taken = min(seconds, self.idle_s)
            self.idle_s -= taken
        else:
            taken = seconds
        return taken


def _new_id() -> str:
    return str(uuid.uuid4())


class MachineSessions:
    """Sessions of one machine: who has it unlocked, what it is doing, what to bill."""

    def __init__(
        self,
        machine: str,
        *,
        thresholds: RunThresholds,
        policy: SessionPolicy,
        access: AccessList,
        clock: Clock,
        new_id: Callable[[], str] = _new_id,
        gates: Sequence[Gate] = (),
        notices: Sequence[Notice] = (),
    ) -> None:
        self.machine = machine
        self.policy = policy
        self.access = access
        self.gates = list(gates)
        self.notices = list(notices)
        self.clock = clock
        self.detector = RunDetector(thresholds)
        self._new_id = new_id
        self._session: _OpenSession | None = None
        self._state = MachineState.LOCKED
        self._state_since_ms = clock.wall_ms()
        self._last_sample_mono: float | None = None
        self._meter: EnergyRegister | None = None
        self._energy_total_wh = 0.0
        self._telemetry_seq = 0
        self._last_telemetry_mono: float | None = None
        self._unattributed_since_ms: int | None = None

    @property
    def state(self) -> MachineState:
        """The state last published."""
        return self._state

    @property
    def open_session(self) -> str | None:
        """The id of the open session, if any."""
        return self._session.id if self._session else None

    @property
    def open_member(self) -> str | None:
        """The member whose session is open, if any."""
        return self._session.member if self._session else None

    def start(self) -> list[Effect]:
        """Announce the machine locked, as it is when the gateway starts."""
        return [RelayChange(energised=False), Publish(self._state_change())]

    # -- events -------------------------------------------------------------------------------

    def badge(self, card: str) -> list[Effect]:
        """A card (already hashed) was presented at the machine's reader."""
        now_ms = self.clock.wall_ms()
        open_session = self._session
        if open_session is not None and open_session.card == card:
            # The card that opened the session always closes it, even if its grant has since
            # expired or left the access list: nobody is kept on a machine by a list change.
            badge_out = self._badge(card, BadgeDecision.GRANTED, "badge_out", open_session.member)
            return [badge_out, *self._close(EndReason.BADGE_OUT)]
        decision = self.access.decide(card, now_ms)
        if not decision.granted or decision.member is None:
            return [self._badge(card, BadgeDecision.DENIED, decision.reason, decision.member)]
        if open_session is not None and open_session.member == decision.member:
            badge_out = self._badge(card, BadgeDecision.GRANTED, "badge_out", decision.member)
            return [badge_out, *self._close(EndReason.BADGE_OUT)]
        for gate in self.gates:
            reason = gate.refuse(decision, now_ms)
            if reason is not None:
                return [self._badge(card, BadgeDecision.DENIED, reason, decision.member)]
        effects = self._close(EndReason.TAKEOVER) if open_session is not None else []
        effects.extend(self._open(card, decision.member))
        return effects

    def sample(
        self,
        amps: float,
        *,
        volts: float | None = None,
        watts: float | None = None,
        meter_wh: float | None = None,
        meter_range: RegisterRange | None = None,
        at: float | None = None,
    ) -> list[Effect]:
        """A current measurement (and whatever else the sensor reports) taken `at` (or now).

        The time is when the sensor was read, not when the reading was handled: a busy worker
        must not stretch or shrink what it bills.
        """
        now = self.clock.monotonic() if at is None else at
        effects: list[Effect] = []
        before = self.detector.activity
        previous = self._last_sample_mono
        dt = 0.0 if previous is None else max(0.0, now - previous)
        self._last_sample_mono = now
        if dt > self.policy.max_sample_gap_s:
            dt = 0.0
        if meter_wh is not None:
            energy = self._metered_wh(meter_wh, meter_range or NEVER_WRAPS, now, effects)
        else:
            energy = self._estimated_wh(dt, amps, volts, watts)
        self._energy_total_wh += energy
        session = self._session
        if session is not None:
            # Only the part of the interval after the badge-in belongs to the session.
            since = (
                session.started_mono if previous is None else max(previous, session.started_mono)
            )
            session.bucket_add(before, min(dt, max(0.0, now - since)))
            session.energy_wh += energy
        transition = self.detector.update(amps, now)
        if transition is not None and session is not None:
            session.rebill(transition.before, transition.segments)
        activity = self.detector.activity
        if session is not None and activity is Activity.RUNNING:
            session.last_active_mono = now
            if EndReason.IDLE_TIMEOUT in session.warned:
                session.warned.discard(EndReason.IDLE_TIMEOUT)
                if not session.warned and not session.noticed:
                    effects.append(LockWarningOver())
        effects.extend(self._unattributed(amps, activity))
        effects.extend(self._publish_state_if_changed())
        effects.extend(self._telemetry(now, amps, volts, watts))
        effects.extend(self.tick())
        return effects

    def tick(self) -> list[Effect]:
        """Let time pass: warn before, and apply, the idle timeout and the maximum duration."""
        session = self._session
        if session is None:
            return []
        now = self.clock.monotonic()
        policy = self.policy
        deadlines = (
            (EndReason.MAX_DURATION, session.started_mono + policy.max_duration_s),
            (EndReason.IDLE_TIMEOUT, session.last_active_mono + policy.idle_timeout_s),
        )
        effects: list[Effect] = []
        for reason, deadline in deadlines:
            if reason is EndReason.IDLE_TIMEOUT and self.detector.activity is Activity.RUNNING:
                continue
            left = deadline - now
            if left <= 0:
                return self._close(reason)
            if left <= policy.warn_before_s and reason not in session.warned:
                session.warned.add(reason)
                effects.append(LockWarning(reason, left))
        wall_ms = self.clock.wall_ms()
        for notice in self.notices:
            ahead = notice.ahead(session.member, wall_ms)
            if ahead is not None and ahead.key not in session.noticed:
                session.noticed.add(ahead.key)
                effects.append(LockWarning(ahead.reason, ahead.seconds_left))
        return effects

    def remote_lock(self) -> list[Effect]:
        """A coordinator locked the machine from the api."""
        if self._session is None:
            return [RelayChange(energised=False)]
        return self._close(EndReason.REMOTE_LOCK)

    def checkpoint(self) -> OpenSessionSnapshot | None:
        """The open session as it stands now, for the journal; None when the machine is locked."""
        if self._session is None:
            return None
        now = self.clock.monotonic()
        # Bill an unconfirmed change as it stands, on a copy: the session itself goes on.
        session = replace(
            self._session,
            warned=set(self._session.warned),
            noticed=set(self._session.noticed),
        )
        session.rebill(self.detector.activity, self.detector.provisional(now))
        return OpenSessionSnapshot(
            id=session.id,
            member=session.member,
            card=session.card,
            started_wall_ms=session.started_wall_ms,
            unlocked_s=now - session.started_mono,
            running_s=session.running_s,
            idle_s=session.idle_s,
            energy_wh=session.energy_wh,
            at_wall_ms=self.clock.wall_ms(),
        )

    def shutdown(self, reason: EndReason) -> list[Effect]:
        """The gateway is stopping: close the open session for `reason` and lock the machine."""
        effects = self._close(reason)
        return effects or [RelayChange(energised=False)]

    def retune(self, thresholds: RunThresholds, policy: SessionPolicy) -> None:
        """Take new thresholds and session rules; an open session goes on under them."""
        # The detector keeps what it has accepted: only the next samples are judged anew.
        self.detector.thresholds = thresholds
        self.policy = policy

    def replace_access(self, access: AccessList) -> bool:
        """Take a newer access list; an older or equal version is ignored."""
        if access.version <= self.access.version:
            return False
        self.access = access
        return True

    # -- internals ----------------------------------------------------------------------------

    def _metered_wh(
        self, meter_wh: float, meter_range: RegisterRange, now: float, effects: list[Effect]
    ) -> float:
        meter = self._meter
        if meter is None or meter.range != meter_range:
            meter = self._meter = EnergyRegister(meter_range)
        step = meter.read(meter_wh, now)
        if step.before_wh is not None and step.kind in {StepKind.WRAPPED, StepKind.RESET}:
            effects.append(MeterStepBack(step.kind, step.before_wh, meter_wh, step.added_wh))
        return step.added_wh

    def _estimated_wh(
        self, dt: float, amps: float, volts: float | None, watts: float | None
    ) -> float:
        if watts is None:
            watts = amps * (volts or self.policy.volts_nominal) * self.policy.power_factor
        return max(0.0, watts) * dt / 3600.0

    def _open(self, card: str, member: str) -> list[Effect]:
        now = self.clock.monotonic()
        session = _OpenSession(
            id=self._new_id(),
            member=member,
            card=card,
            started_mono=now,
            started_wall_ms=self.clock.wall_ms(),
            last_active_mono=now,
        )
        self._session = session
        effects: list[Effect] = [self._badge(card, BadgeDecision.GRANTED, "ok", member)]
        effects.append(RelayChange(energised=True))
        effects.extend(self._publish_state_if_changed())
        return effects

    def _close(self, reason: EndReason) -> list[Effect]:
        session = self._session
        if session is None:
            return []
        self._session = None
        now = self.clock.monotonic()
        session.rebill(self.detector.activity, self.detector.provisional(now))
        # The relay is de-energising: whatever flows from now on must prove itself again.
        self.detector.reset()
        unlocked_s = now - session.started_mono
        wall_now = self.clock.wall_ms()
        wall_elapsed_s = (wall_now - session.started_wall_ms) / 1000.0
        clock_ok = _clock_ok(session.started_wall_ms, wall_elapsed_s, unlocked_s)
        record = SessionRecord(
            id=session.id,
            ts=wall_now,
            machine=self.machine,
            member=session.member,
            card=session.card,
            started=session.started_wall_ms,
            ended=session.started_wall_ms + round(unlocked_s * 1000),
            unlocked_s=round(unlocked_s, 3),
            running_s=round(session.running_s, 3),
            idle_s=round(session.idle_s, 3),
            energy_wh=round(session.energy_wh, 3),
            end_reason=reason,
            clock_ok=clock_ok,
        )
        for gate in self.gates:
            if isinstance(gate, SessionWatcher):
                gate.session_closed(record)
        effects: list[Effect] = [Publish(record), RelayChange(energised=False)]
        if session.warned or session.noticed:
            effects.append(LockWarningOver())
        effects.extend(self._publish_state_if_changed())
        return effects

    def _badge(
        self, card: str, decision: BadgeDecision, reason: str, member: str | None
    ) -> Publish:
        return Publish(
            Badge(
                id=self._new_id(),
                ts=self.clock.wall_ms(),
                card=card,
                decision=decision,
                reason=reason,
                member=member,
                session=self._session.id if self._session else None,
            )
        )

    def _current_state(self) -> MachineState:
        if self._session is None:
            return MachineState.LOCKED
        return {
            Activity.OFF: MachineState.UNLOCKED,
            Activity.IDLE: MachineState.IDLE,
            Activity.RUNNING: MachineState.RUNNING,
        }[self.detector.activity]

    def _state_change(self) -> StateChange:
        session = self._session
        return StateChange(
            id=self._new_id(),
            ts=self.clock.wall_ms(),
            state=self._state,
            member=session.member if session else None,
            session=session.id if session else None,
            since=self._state_since_ms,
        )

    def _publish_state_if_changed(self) -> list[Effect]:
        state = self._current_state()
        if state is self._state:
            return []
        self._state, self._state_since_ms = state, self.clock.wall_ms()
        return [Publish(self._state_change())]

    def _unattributed(self, amps: float, activity: Activity) -> list[Effect]:
        if self._session is not None or activity is Activity.OFF:
            self._unattributed_since_ms = None
            return []
        if self._unattributed_since_ms is not None:
            return []
        self._unattributed_since_ms = self.clock.wall_ms()
        return [UnattributedUse(amps, self._unattributed_since_ms)]

    def _telemetry(
        self, now: float, amps: float, volts: float | None, watts: float | None
    ) -> list[Effect]:
        last = self._last_telemetry_mono
        # A sample a little early (clock jitter between board and gateway) still counts.
        if last is not None and now - last < 0.9 * self.policy.telemetry_interval_s:
            return []
        self._last_telemetry_mono = now
        self._telemetry_seq += 1
        return [
            Publish(
                Telemetry(
                    id=self._new_id(),
                    ts=self.clock.wall_ms(),
                    seq=self._telemetry_seq,
                    amps=round(amps, 3),
                    volts=volts,
                    watts=round(watts, 1) if watts is not None else None,
                    wh=round(self._energy_total_wh, 3),
                    state=self._state,
                )
            )
        ]
