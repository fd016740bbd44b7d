"""Valid wire messages for the services tests, built through the contract's own models."""

from __future__ import annotations

import uuid

from contract import (
    Badge,
    BadgeDecision,
    EndReason,
    MachineState,
    MachineTopic,
    SessionRecord,
    StateChange,
    Telemetry,
    TopicKind,
    card_hash,
)

SITE = "officina-nord"
MACHINE = "lathe-1"
MEMBER = "giulia"
CARD = card_hash("04A1B2C3", b"test site secret")
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def topic(kind: TopicKind, *, machine: str = MACHINE, site: str = SITE) -> str:
    """The v1 topic of a machine."""
    return str(MachineTopic(site, machine, kind))


def session_record(
    *, session_id: str | None = None, machine: str = MACHINE, member: str = MEMBER, start: int = T0
) -> SessionRecord:
    """A closed 20-minute session: 15 running, 4 idle, 1.2 kWh."""
    return SessionRecord(
        id=session_id or str(uuid.uuid4()),
        ts=start + 20 * 60_000,
        machine=machine,
        member=member,
        card=CARD,
        started=start,
        ended=start + 20 * 60_000,
        unlocked_s=1200.0,
        running_s=900.0,
        idle_s=240.0,
        energy_wh=1200.0,
        end_reason=EndReason.BADGE_OUT,
        clock_ok=True,
    )


def telemetry(seq: int, *, amps: float = 4.5, ts: int = T0) -> Telemetry:
    """A 1 Hz sample of a running machine."""
    return Telemetry(
        id=f"t-{uuid.uuid4()}",
        ts=ts + seq * 1000,
        seq=seq,
        amps=amps,
        volts=230.0,
        watts=amps * 230.0,
        wh=seq * 0.3,
        state=MachineState.RUNNING,
    )


def state_change(state: MachineState, *, since: int, session: str | None = None) -> StateChange:
    """A state change published at the moment it began."""
    return StateChange(
        id=f"s-{uuid.uuid4()}",
        ts=since,
        state=state,
        member=MEMBER if session else None,
        session=session,
        since=since,
    )


def badge(decision: BadgeDecision = BadgeDecision.GRANTED, *, ts: int = T0) -> Badge:
    """A card presented at the lathe."""
    return Badge(
        id=f"b-{uuid.uuid4()}",
        ts=ts,
        card=CARD,
        decision=decision,
        reason="ok" if decision is BadgeDecision.GRANTED else "not qualified",
        member=MEMBER if decision is BadgeDecision.GRANTED else None,
    )
