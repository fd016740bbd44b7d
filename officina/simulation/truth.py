"""The ground truth of a simulated month, and the statements it should have made.

Each gateway's floor writes what really happened (`<gateway>-truth.jsonl`). Here it is read
back, turned into the sessions billing would count, and billed with the month's registry,
plans, tariffs and pools as they stand in the ledger: the statements the month should have.
The statements made from the ledger, after everything the month went through, must be the same
to the cent.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from officina.simulation.workshop import SITE
from services.billing.engine import MemberStatement, MonthInputs, MonthStatements, bill_month
from services.billing.months import MonthWindow
from services.billing.usage import UsageSession, epoch_ms


@dataclass(frozen=True, slots=True)
class Truth:
    """What the month really was: its sessions and the samples each machine's sensor gave."""

    sessions: tuple[UsageSession, ...]
    samples: dict[str, int]

    @property
    def telemetry_points(self) -> int:
        """Every sample is published as one telemetry point."""
        return sum(self.samples.values())


def read_truth(workdir: Path) -> Truth:
    """Every gateway's truth file in `workdir`, together."""
    sessions: list[UsageSession] = []
    samples: Counter[str] = Counter()
    for path in sorted(workdir.glob("*-truth.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            record = json.loads(line)
            if record["kind"] == "samples":
                samples[record["machine"]] += record["count"]
            elif record["kind"] == "session":
                sessions.append(
                    UsageSession(
                        id=f"truth-{path.stem}-{n}",
                        site=SITE,
                        machine=record["machine"],
                        member=record["member"],
                        started_ms=record["started_s"] * 1000,
                        ended_ms=record["ended_s"] * 1000,
                        unlocked_ms=record["unlocked_ms"],
                        running_ms=record["running_ms"],
                        idle_ms=record["idle_ms"],
                        energy_mwh=record["energy_mwh"],
                    )
                )
    return Truth(tuple(sorted(sessions, key=lambda s: (s.started_ms, s.machine))), dict(samples))


def truth_statements(inputs: MonthInputs, truth: Truth) -> MonthStatements:
    """The month billed on the true sessions, everything else as the ledger has it."""
    window = MonthWindow(inputs.month, inputs.tz)
    start, end = epoch_ms(window.start), epoch_ms(window.end)
    inside = tuple(s for s in truth.sessions if s.ended_ms > start and s.started_ms < end)
    return bill_month(replace(inputs, sessions=inside))


@dataclass(frozen=True, slots=True)
class StatementFigures:
    """What a member's statement says, without the ids and dates the gateway chose."""

    member: str
    total_cents: int
    net_cents: int
    vat_cents: int
    direct_cents: int
    fee_cents: int
    pool_cents: int
    sessions: int
    session_cents: tuple[int, ...]


def figures(statement: MemberStatement) -> StatementFigures:
    """The figures of a statement, for comparing one month's two billings."""
    return StatementFigures(
        member=statement.member.id,
        total_cents=statement.total_cents,
        net_cents=statement.net_cents,
        vat_cents=statement.vat_cents,
        direct_cents=statement.direct_cents,
        fee_cents=statement.fee_cents,
        pool_cents=statement.pool_cents,
        sessions=len(statement.charges),
        session_cents=tuple(sorted(c.cents for c in statement.charges)),
    )


def differences(booked: MonthStatements, true: MonthStatements) -> list[str]:
    """Each way the statements from the ledger differ from the true ones (none: equal)."""
    left = {s.member.id: figures(s) for s in booked.statements}
    right = {s.member.id: figures(s) for s in true.statements}
    found: list[str] = []
    for member in sorted(left.keys() | right.keys()):
        a, b = left.get(member), right.get(member)
        if a != b:
            found.append(f"{member}: ledger {a} ≠ truth {b}")
    return found
