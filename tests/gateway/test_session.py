"""The session state machine, driven by a fake clock: no broker, no serial port."""

from __future__ import annotations

import itertools
from typing import TypeVar

import pytest

from contract import (
    Badge,
    BadgeDecision,
    EndReason,
    MachineState,
    SessionRecord,
    StateChange,
    Telemetry,
    card_hash,
)
from firmware_bridge.clock import ManualClock
from gateway.access import AccessList, Decision, Grant
from gateway.run_detection import RunThresholds
from gateway.session import (
    PLAUSIBLE_WALL_MS,
    Effect,
    LockWarning,
    LockWarningOver,
    MachineSessions,
    Publish,
    RelayChange,
    SessionPolicy,
    UnattributedUse,
)

T = TypeVar("T")
KEY = b"test-site-key-0123456789"
GIULIA = card_hash("04A1B2C3", KEY)
MARCO = card_hash("04D4E5F6", KEY)
EXPIRED = card_hash("0A0B0C0D", KEY)
STRANGER = card_hash("DEADBEEF", KEY)
START_MS = PLAUSIBLE_WALL_MS + 1_000_000_000


def make(clock: ManualClock, **policy: float) -> MachineSessions:
    counter = itertools.count()
    access = AccessList(
        [
            Grant(GIULIA, "giulia"),
            Grant(MARCO, "marco"),
            Grant(EXPIRED, "pietro", until_ms=START_MS - 1),
        ],
        version=0,
    )
    return MachineSessions(
        "lathe-1",
        thresholds=RunThresholds(idle_amps=0.5, run_amps=3.0, hysteresis_amps=0.2, min_dwell_s=0),
        policy=SessionPolicy(**policy),
        access=access,
        clock=clock,
        new_id=lambda: f"00000000-0000-4000-8000-{next(counter):012d}",
    )


def published(effects: list[Effect], kind: type[T]) -> list[T]:
    return [e.payload for e in effects if isinstance(e, Publish) and isinstance(e.payload, kind)]


def feed(machine: MachineSessions, clock: ManualClock, amps: float, seconds: float) -> list[Effect]:
    """Feed one sample per second for `seconds` seconds."""
    effects: list[Effect] = []
    for _ in range(round(seconds)):
        clock.advance(1.0)
        effects += machine.sample(amps)
    return effects


def test_granted_card_unlocks_and_badge_out_closes_one_session() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    effects = machine.badge(GIULIA)
    assert RelayChange(energised=True) in effects
    assert published(effects, Badge)[0].decision is BadgeDecision.GRANTED
    assert published(effects, StateChange)[0].state is MachineState.UNLOCKED
    feed(machine, clock, 0.0, 10)
    feed(machine, clock, 1.0, 20)
    feed(machine, clock, 6.0, 60)
    feed(machine, clock, 1.0, 10)
    effects = machine.badge(GIULIA)
    [session] = published(effects, SessionRecord)
    assert session.member == "giulia"
    assert session.end_reason is EndReason.BADGE_OUT
    assert session.running_s == pytest.approx(60, abs=1)
    assert session.idle_s == pytest.approx(30, abs=1)
    assert session.unlocked_s == pytest.approx(100, abs=0.01)
    assert session.clock_ok
    assert RelayChange(energised=False) in effects
    assert machine.state is MachineState.LOCKED


def test_unknown_and_expired_cards_are_denied_and_leave_the_machine_locked() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    unknown = published(machine.badge(STRANGER), Badge)[0]
    expired = published(machine.badge(EXPIRED), Badge)[0]
    assert (unknown.decision, unknown.reason) == (BadgeDecision.DENIED, "unknown_card")
    assert (expired.decision, expired.reason) == (BadgeDecision.DENIED, "expired")
    assert machine.state is MachineState.LOCKED
    assert machine.open_session is None


def test_running_state_follows_current_with_hysteresis() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.badge(GIULIA)
    states = [s.state for s in published(feed(machine, clock, 3.5, 3), StateChange)]
    assert states == [MachineState.RUNNING]
    # 2.9 A is below run_amps but within the hysteresis band: still running.
    assert published(feed(machine, clock, 2.9, 3), StateChange) == []
    states = [s.state for s in published(feed(machine, clock, 2.7, 1), StateChange)]
    assert states == [MachineState.IDLE]


def test_minimum_dwell_ignores_a_short_spike() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.detector.thresholds = RunThresholds(idle_amps=0.5, run_amps=3.0, min_dwell_s=3)
    machine.badge(GIULIA)
    feed(machine, clock, 1.0, 5)
    spike = feed(machine, clock, 8.0, 2) + feed(machine, clock, 1.0, 5)
    assert MachineState.RUNNING not in [s.state for s in published(spike, StateChange)]
    effects = feed(machine, clock, 8.0, 10) + machine.badge(GIULIA)
    [session] = published(effects, SessionRecord)
    # The dwell delays the state, not the bill: running time is dated back to the crossing.
    assert session.running_s == pytest.approx(10, abs=1)


def test_idle_timeout_warns_then_locks() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock, idle_timeout_s=120, warn_before_s=30)
    machine.badge(GIULIA)
    effects = feed(machine, clock, 1.0, 95)
    assert [w.reason for w in effects if isinstance(w, LockWarning)] == [EndReason.IDLE_TIMEOUT]
    effects = feed(machine, clock, 1.0, 30)
    [session] = published(effects, SessionRecord)
    assert session.end_reason is EndReason.IDLE_TIMEOUT
    assert RelayChange(energised=False) in effects


def test_running_machine_never_idle_times_out_but_max_duration_applies() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock, idle_timeout_s=60, max_duration_s=300)
    machine.badge(GIULIA)
    effects = feed(machine, clock, 5.0, 299)
    assert published(effects, SessionRecord) == []
    [session] = published(feed(machine, clock, 5.0, 2), SessionRecord)
    assert session.end_reason is EndReason.MAX_DURATION


def test_another_member_takes_over_and_the_relay_stays_energised() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.badge(GIULIA)
    feed(machine, clock, 5.0, 10)
    effects = machine.badge(MARCO)
    [closed] = published(effects, SessionRecord)
    assert (closed.member, closed.end_reason) == ("giulia", EndReason.TAKEOVER)
    assert RelayChange(energised=True) in effects
    assert machine.open_session is not None
    [session] = published(machine.badge(MARCO), SessionRecord)
    assert session.member == "marco"


def test_current_without_a_session_is_reported_once_as_unattributed_use() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    effects = feed(machine, clock, 5.0, 10)
    assert len([e for e in effects if isinstance(e, UnattributedUse)]) == 1
    assert machine.state is MachineState.LOCKED


def test_remote_lock_ends_the_session() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.badge(GIULIA)
    [session] = published(machine.remote_lock(), SessionRecord)
    assert session.end_reason is EndReason.REMOTE_LOCK


def test_a_wall_clock_jump_marks_the_session_clock_not_ok() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.badge(GIULIA)
    feed(machine, clock, 5.0, 60)
    clock.wall += 3_600_000  # NTP stepped the clock an hour forward mid-session
    [session] = published(machine.badge(GIULIA), SessionRecord)
    assert not session.clock_ok
    # Durations come from the monotonic clock, so the bill is still right.
    assert session.unlocked_s == pytest.approx(60, abs=0.01)
    assert session.ended - session.started == 60_000


def test_a_long_gap_in_samples_is_not_billed() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.badge(GIULIA)
    feed(machine, clock, 5.0, 10)
    clock.advance(120)
    machine.sample(5.0)
    [session] = published(machine.badge(GIULIA), SessionRecord)
    assert session.running_s == pytest.approx(10, abs=1)
    assert session.unlocked_s == pytest.approx(130, abs=0.01)


def test_energy_comes_from_the_meter_counter_across_a_reset() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.badge(GIULIA)
    for wh in (100.0, 110.0, 125.0, 2.0, 7.0):
        clock.advance(1)
        machine.sample(5.0, meter_wh=wh)
    [session] = published(machine.badge(GIULIA), SessionRecord)
    assert session.energy_wh == pytest.approx(10 + 15 + 2 + 5)


def test_telemetry_is_throttled_to_its_interval_and_numbered() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock, telemetry_interval_s=5)
    points = published(feed(machine, clock, 1.0, 20), Telemetry)
    assert [p.seq for p in points] == [1, 2, 3, 4]


def test_a_newer_access_list_replaces_the_old_and_an_older_one_is_ignored() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    assert machine.replace_access(AccessList([Grant(STRANGER, "nuovo")], version=3))
    assert not machine.replace_access(AccessList([], version=2))
    assert published(machine.badge(STRANGER), Badge)[0].decision is BadgeDecision.GRANTED
    assert published(machine.badge(MARCO), Badge)[0].decision is BadgeDecision.DENIED


# -- what a workshop expects when the access list changes under a member's hands ------------------


def test_a_member_dropped_from_the_list_mid_session_finishes_and_badges_out() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.badge(GIULIA)
    feed(machine, clock, 5.0, 30)
    # The coordinator withdraws Giulia's qualification while she is cutting: the machine is not
    # cut off under her (that would be a hazard of its own), and her card still ends the session.
    assert machine.replace_access(AccessList([Grant(MARCO, "marco")], version=1))
    assert published(feed(machine, clock, 5.0, 30), SessionRecord) == []
    effects = machine.badge(GIULIA)
    [session] = published(effects, SessionRecord)
    assert (session.member, session.end_reason) == ("giulia", EndReason.BADGE_OUT)
    assert session.running_s == pytest.approx(60, abs=1)
    # From now on the list applies: her next badge-in is refused.
    [badge] = published(machine.badge(GIULIA), Badge)
    assert (badge.decision, badge.reason) == (BadgeDecision.DENIED, "unknown_card")


def test_a_qualification_that_expires_mid_session_ends_nothing_but_the_next_badge_in() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.replace_access(
        AccessList([Grant(GIULIA, "giulia", until_ms=START_MS + 60_000)], version=1)
    )
    machine.badge(GIULIA)
    feed(machine, clock, 5.0, 90)  # the grant ran out 60 s in
    [session] = published(machine.badge(GIULIA), SessionRecord)
    assert session.end_reason is EndReason.BADGE_OUT
    [badge] = published(machine.badge(GIULIA), Badge)
    assert (badge.decision, badge.reason) == (BadgeDecision.DENIED, "expired")


def test_a_denied_card_cannot_take_over_a_running_session() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.badge(GIULIA)
    effects = machine.badge(STRANGER)
    assert published(effects, Badge)[0].decision is BadgeDecision.DENIED
    assert published(effects, SessionRecord) == []
    assert RelayChange(energised=False) not in effects
    assert machine.open_session is not None


def test_a_member_with_a_second_card_badges_out_with_either() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    spare = card_hash("04FFEE01", KEY)
    machine.replace_access(AccessList([Grant(GIULIA, "giulia"), Grant(spare, "giulia")], version=1))
    machine.badge(GIULIA)
    [session] = published(machine.badge(spare), SessionRecord)
    assert session.end_reason is EndReason.BADGE_OUT


def test_the_lock_warning_is_silenced_when_work_resumes_or_the_session_ends() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock, idle_timeout_s=120, warn_before_s=30)
    machine.badge(GIULIA)
    warned = feed(machine, clock, 1.0, 95)
    assert any(isinstance(e, LockWarning) for e in warned)
    resumed = feed(machine, clock, 6.0, 5)
    assert LockWarningOver() in resumed
    # A second idle stretch warns again, and the lock itself silences the warning.
    assert any(isinstance(e, LockWarning) for e in feed(machine, clock, 1.0, 95))
    locked = feed(machine, clock, 1.0, 30)
    assert published(locked, SessionRecord)[0].end_reason is EndReason.IDLE_TIMEOUT
    assert LockWarningOver() in locked


class _StaffOnly:
    """A gate that lets only staff in, as a machine out of order would."""

    def refuse(self, decision: Decision, now_ms: int) -> str | None:
        return None if decision.staff else "out_of_order"


def test_a_gate_refuses_a_granted_card_but_never_cuts_the_running_session() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = make(clock)
    machine.access = AccessList(
        [Grant(GIULIA, "giulia"), Grant(MARCO, "marco", staff=True)], version=1
    )
    machine.badge(MARCO)
    feed(machine, clock, 5.0, 10)
    machine.gates.append(_StaffOnly())
    # Giulia may not take the machine over: she is refused and Marco's session goes on.
    [refused] = published(machine.badge(GIULIA), Badge)
    assert (refused.decision, refused.reason) == (BadgeDecision.DENIED, "out_of_order")
    assert refused.member == "giulia"
    assert machine.open_session is not None
    # Marco, staff, badges out and in again through the gate.
    [closed] = published(machine.badge(MARCO), SessionRecord)
    assert closed.member == "marco"
    assert RelayChange(energised=True) in machine.badge(MARCO)
