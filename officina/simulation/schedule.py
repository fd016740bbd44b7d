"""Who comes to which machine when: a month of visits, drawn from the members' habits.

A visit is what a member means to do: badge in, set up, cut a few times, switch off, badge out
(or forget to). Whether it happens is up to the floor: a card the gateway refuses sends the
member home, a power cut ends the work. The plan is a pure function of the month and a seed, so
a gateway restarted after a power cut plans the same month again and picks it up where it was.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from officina.simulation.workshop import MEMBERS, STRANGER_CARD, SimMachine, SimMember
from services.billing.months import Month

OPENS = time(9, 0)
CLOSES = time(19, 0)
OPEN_WEEKDAYS = (0, 1, 2, 3, 4, 5)  # closed on Sundays


class Load(Enum):
    """What a machine is doing: switched off, switched on and idling, cutting."""

    OFF = 0
    IDLE = 1
    RUNNING = 2


@dataclass(frozen=True, slots=True)
class Visit:
    """A member's visit to a machine, in steps after the badge-in; `member` None: a stranger."""

    machine: str
    start_s: int
    card_uid: str
    member: str | None
    phases: tuple[tuple[Load, int], ...]  # empty: the card is refused (or meant to be)
    badge_out: bool
    run_scale: float = 1.0  # how hard the machine works this time: 1.0 to 1.3 of its draw

    @property
    def steps(self) -> int:
        """Steps from badge-in to badge-out, both included."""
        return 1 + sum(n for _, n in self.phases) + 2


@dataclass(frozen=True, slots=True)
class OpenDay:
    """One day the workshop is open: its date and its opening hours as epoch seconds."""

    day: date
    opens_s: int
    closes_s: int


def open_days(month: Month, tz: ZoneInfo) -> list[OpenDay]:
    """The days of a month the workshop opens, with their hours in UTC epoch seconds."""
    first = date(month.year, month.month, 1)
    days: list[OpenDay] = []
    day = first
    while day.month == first.month:
        if day.weekday() in OPEN_WEEKDAYS:
            opens = datetime.combine(day, OPENS, tz)
            closes = datetime.combine(day, CLOSES, tz)
            days.append(OpenDay(day, int(opens.timestamp()), int(closes.timestamp())))
        day += timedelta(days=1)
    return days


def _minutes(rng: random.Random, bounds: tuple[int, int], step_s: int) -> int:
    """A number of steps lasting between `bounds` minutes (at least two steps)."""
    return max(2, round(rng.randint(*bounds) * 60 / step_s))


def _phases(rng: random.Random, member: SimMember, step_s: int) -> tuple[tuple[Load, int], ...]:
    habit = member.habit
    phases: list[tuple[Load, int]] = [(Load.IDLE, _minutes(rng, habit.setup_min, step_s))]
    for _ in range(rng.randint(*habit.cuts)):
        phases.append((Load.RUNNING, _minutes(rng, habit.cut_min, step_s)))
        phases.append((Load.IDLE, _minutes(rng, habit.setup_min, step_s)))
    return tuple(phases)


def plan_machine(
    machine: SimMachine,
    days: list[OpenDay],
    *,
    seed: int,
    step_s: int,
    idle_timeout_s: int,
    members: tuple[SimMember, ...] = MEMBERS,
) -> list[Visit]:
    """Every visit to one machine in the month, in order; none overlaps the next."""
    rng = random.Random(f"{seed}/{machine.id}")  # noqa: S311 - a simulation, not a secret
    visits: list[Visit] = []
    if not machine.reader:
        return visits
    for day in days:
        weekday = day.day.weekday()
        trained = [m for m in members if machine.id in m.machines and weekday in m.habit.weekdays]
        others = [m for m in members if machine.id not in m.machines]
        t = day.opens_s + step_s * rng.randint(2, 40)
        # Leave room to close the last visit (an idle timeout at worst) before closing time.
        last_start = day.closes_s - idle_timeout_s - step_s * 4
        wanted = sum(rng.randint(*m.habit.visits_per_day) for m in trained) if trained else 0
        for _ in range(wanted):
            if rng.random() < 0.04:
                visits.append(Visit(machine.id, t, STRANGER_CARD, None, (), False))
                t += step_s * rng.randint(2, 6)
            if others and rng.random() < max(m.habit.wrong_machine for m in others):
                stray = rng.choice(others)
                visits.append(Visit(machine.id, t, stray.card_uid, stray.id, (), False))
                t += step_s * rng.randint(2, 6)
            member = rng.choice(trained)
            phases = _phases(rng, member, step_s)
            walk_away = rng.random() < member.habit.walk_away
            visit = Visit(
                machine.id,
                t,
                member.card_uid,
                member.id,
                phases,
                badge_out=not walk_away,
                run_scale=round(1.0 + rng.random() * 0.3, 3),
            )
            end = t + step_s * visit.steps + (idle_timeout_s if walk_away else 0)
            if end > last_start + idle_timeout_s:
                break
            visits.append(visit)
            t = end + step_s * rng.randint(3, 45)
    return visits


def communal_cycles(
    machine: SimMachine, days: list[OpenDay], *, seed: int, step_s: int
) -> Iterator[tuple[int, int]]:
    """A machine everyone shares and nobody badges at: (start, steps) of each time it runs."""
    rng = random.Random(f"{seed}/{machine.id}")  # noqa: S311 - a simulation, not a secret
    for day in days:
        t = day.opens_s + step_s * rng.randint(5, 20)
        while t < day.closes_s - step_s * 10:
            steps = rng.randint(2, 6)
            yield t, steps
            t += step_s * (steps + rng.randint(10, 30))
