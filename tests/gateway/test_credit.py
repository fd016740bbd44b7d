"""The credit gate: a credit-required member is refused at badge-in once her credit is spent."""

from __future__ import annotations

import itertools
from pathlib import Path

from contract import Badge, BadgeDecision, SessionRecord
from firmware_bridge.clock import ManualClock
from gateway.access import AccessList, Grant
from gateway.credit import CreditGate
from gateway.run_detection import RunThresholds
from gateway.session import MachineSessions, Publish, SessionPolicy
from gateway.spool import Spool
from tests.gateway.test_session import GIULIA, MARCO, START_MS, feed


def _machine(
    clock: ManualClock, access: AccessList, gate: CreditGate | None = None
) -> MachineSessions:
    counter = itertools.count()
    return MachineSessions(
        "laser-1",
        thresholds=RunThresholds(idle_amps=0.5, run_amps=3.0, hysteresis_amps=0.2, min_dwell_s=0),
        policy=SessionPolicy(),
        access=access,
        clock=clock,
        new_id=lambda: f"00000000-0000-4000-8000-{next(counter):012d}",
        gates=[gate or CreditGate()],
    )


def _badges(machine: MachineSessions, card: str) -> list[Badge]:
    return [
        e.payload
        for e in machine.badge(card)
        if isinstance(e, Publish) and isinstance(e.payload, Badge)
    ]


def test_a_member_whose_credit_is_spent_here_is_refused_at_her_next_badge_in() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = _machine(
        clock,
        AccessList([Grant(GIULIA, "giulia", credit_s=30.0), Grant(MARCO, "marco")], version=1),
    )
    machine.badge(GIULIA)
    # Her session runs past what her credit buys: it is never cut.
    feed(machine, clock, 5.0, 45)
    assert machine.open_session is not None
    closed = [
        e.payload
        for e in machine.badge(GIULIA)
        if isinstance(e, Publish) and isinstance(e.payload, SessionRecord)
    ]
    assert closed and closed[0].running_s >= 30
    [refused] = _badges(machine, GIULIA)
    assert (refused.decision, refused.reason) == (BadgeDecision.DENIED, "no_credit")
    assert machine.open_session is None
    # A member with no credit rule is let in as before.
    assert machine.badge(MARCO)
    assert machine.open_session is not None


def test_a_newer_list_that_counted_her_sessions_replaces_what_the_gateway_took_off() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = _machine(clock, AccessList([Grant(GIULIA, "giulia", credit_s=30.0)], version=1))
    machine.badge(GIULIA)
    feed(machine, clock, 5.0, 40)
    [record] = [
        e.payload
        for e in machine.badge(GIULIA)
        if isinstance(e, Publish) and isinstance(e.payload, SessionRecord)
    ]
    assert _badges(machine, GIULIA)[0].reason == "no_credit"
    # A list made before the session was booked still counts it off here.
    machine.replace_access(
        AccessList([Grant(GIULIA, "giulia", credit_s=30.0, credit_until_ms=START_MS)], version=2)
    )
    assert _badges(machine, GIULIA)[0].reason == "no_credit"
    # She topped up: the api's list has counted the session and gives her ten minutes more.
    machine.replace_access(
        AccessList(
            [Grant(GIULIA, "giulia", credit_s=600.0, credit_until_ms=record.ended)], version=3
        )
    )
    [granted] = _badges(machine, GIULIA)
    assert granted.decision is BadgeDecision.GRANTED
    assert machine.open_session is not None


def test_an_empty_credit_refuses_at_once() -> None:
    clock = ManualClock(wall_ms=START_MS)
    machine = _machine(clock, AccessList([Grant(GIULIA, "giulia", credit_s=0.0)], version=1))
    [refused] = _badges(machine, GIULIA)
    assert (refused.decision, refused.reason) == (BadgeDecision.DENIED, "no_credit")


def test_what_the_gateway_took_off_offline_survives_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(wall_ms=START_MS)
    access = AccessList([Grant(GIULIA, "giulia", credit_s=30.0), Grant(MARCO, "marco")], version=1)
    spool = Spool(tmp_path / "spool.db")
    machine = _machine(clock, access, CreditGate("laser-1", spool))
    machine.badge(GIULIA)
    feed(machine, clock, 5.0, 45)
    machine.badge(GIULIA)
    # Marco has no credit rule: his sessions are not kept against anything.
    machine.badge(MARCO)
    feed(machine, clock, 5.0, 10)
    machine.badge(MARCO)
    [(member, ended, running_s)] = spool.credit_spent("laser-1")
    assert member == "giulia" and running_s >= 30
    spool.close()

    # The gateway restarts without network: the same stored list, the spool read again.
    spool = Spool(tmp_path / "spool.db")
    machine = _machine(clock, access, CreditGate("laser-1", spool))
    [refused] = _badges(machine, GIULIA)
    assert (refused.decision, refused.reason) == (BadgeDecision.DENIED, "no_credit")
    # A list that counted her session makes the spool forget it.
    machine.replace_access(
        AccessList([Grant(GIULIA, "giulia", credit_s=600.0, credit_until_ms=ended)], version=2)
    )
    [granted] = _badges(machine, GIULIA)
    assert granted.decision is BadgeDecision.GRANTED
    assert spool.credit_spent("laser-1") == []
    spool.close()
