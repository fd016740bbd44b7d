"""A known week on three machines: every working day the same pattern, so every total is known.

Each day from 08:00 to 18:00 UTC a gateway sends one sample a minute (it is off at night):
an hour locked, two hours running, an hour idle, an hour unlocked, then half an hour of current
on the locked machine (unattributed use), then locked until 18:00. The lathe's gateway loses
five samples of the first day (a gap in its sample counter).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from contract import MachineState, MachineTopic, StateChange, Telemetry, TopicKind

DAY_MS = 86_400_000
MINUTE_MS = 60_000
SAMPLE_S = 60
WORK_START_MS = 8 * 3_600_000
WORK_MINUTES = 600
VOLTS = 230.0
UNATTRIBUTED_AMPS = 3.0
LOST_SEQS = frozenset(range(400, 405))  # the lathe's first day, while locked


@dataclass(frozen=True, slots=True)
class Stretch:
    """A stretch of the working day: from which minute, in which state, at which current."""

    start_minute: int
    state: MachineState
    current: str  # "off", "run", "idle" or "stray"


DAY = (
    Stretch(0, MachineState.LOCKED, "off"),
    Stretch(60, MachineState.RUNNING, "run"),
    Stretch(180, MachineState.IDLE, "idle"),
    Stretch(240, MachineState.UNLOCKED, "off"),
    Stretch(300, MachineState.LOCKED, "stray"),
    Stretch(330, MachineState.LOCKED, "off"),
)


@dataclass(frozen=True, slots=True)
class WeekMachine:
    """A machine of the week and the current it draws running and idle."""

    site: str
    machine: str
    run_amps: float
    idle_amps: float
    loses_samples: bool = False

    def amps(self, current: str) -> float:
        """The current of a stretch."""
        return {"off": 0.0, "run": self.run_amps, "idle": self.idle_amps}.get(
            current, UNATTRIBUTED_AMPS
        )

    def kwh_per_day(self) -> float:
        """Energy a day: 120 min running, 60 idle, 30 unattributed, at 230 V."""
        watt_minutes = (120 * self.run_amps + 60 * self.idle_amps + 30 * UNATTRIBUTED_AMPS) * VOLTS
        return watt_minutes / 60 / 1000


MACHINES = (
    WeekMachine("officina-nord", "lathe-1", run_amps=10.0, idle_amps=2.0, loses_samples=True),
    WeekMachine("officina-nord", "mill-1", run_amps=5.0, idle_amps=1.0),
    WeekMachine("officina-sud", "laser-1", run_amps=8.0, idle_amps=1.0),
)
DAYS = 7


def _stretch_at(minute: int) -> Stretch:
    return [s for s in DAY if s.start_minute <= minute][-1]


def telemetry(week_start_ms: int, machine: WeekMachine) -> Iterator[tuple[str, Telemetry]]:
    """Every sample the machine's gateway sends in the week, with its topic."""
    topic = str(MachineTopic(machine.site, machine.machine, TopicKind.TELEMETRY))
    seq = 0
    wh = 0.0
    for day in range(DAYS):
        for minute in range(WORK_MINUTES):
            stretch = _stretch_at(minute)
            amps = machine.amps(stretch.current)
            wh += amps * VOLTS / 60
            seq += 1
            if machine.loses_samples and seq in LOST_SEQS:
                continue
            ts = week_start_ms + day * DAY_MS + WORK_START_MS + minute * MINUTE_MS
            yield (
                topic,
                Telemetry(
                    id=f"t-{uuid.uuid4()}",
                    ts=ts,
                    seq=seq,
                    amps=amps,
                    volts=VOLTS,
                    watts=amps * VOLTS,
                    wh=wh,
                    state=stretch.state,
                ),
            )


def state_changes(week_start_ms: int, machine: WeekMachine) -> Iterator[tuple[str, StateChange]]:
    """Every state change of the week (the last locked stretch continues the one before)."""
    topic = str(MachineTopic(machine.site, machine.machine, TopicKind.STATE))
    for day in range(DAYS):
        session = str(uuid.uuid4())
        for stretch in DAY[:5]:
            since = week_start_ms + day * DAY_MS + WORK_START_MS + stretch.start_minute * MINUTE_MS
            in_session = stretch.state is not MachineState.LOCKED
            yield (
                topic,
                StateChange(
                    id=f"s-{uuid.uuid4()}",
                    ts=since,
                    state=stretch.state,
                    member="giulia" if in_session else None,
                    session=session if in_session else None,
                    since=since,
                ),
            )
