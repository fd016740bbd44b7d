"""Attacks on real servers: each test says what it tried and what held; a table closes the run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@dataclass(slots=True)
class Attack:
    """One attack a test made: the issue item it belongs to, what was tried and what held."""

    item: str
    tried: str
    held: str | None = None


@dataclass(slots=True)
class AttackLog:
    """What one test tried and what held, in the order it said them."""

    test: str
    attacks: list[Attack] = field(default_factory=list)

    def tried(self, item: str, what: str) -> None:
        """Say what the attack is about to try, under the hardening item it belongs to."""
        self.attacks.append(Attack(item=item, tried=what))

    def held(self, what: str) -> None:
        """Say what held against the last attack tried (after the assertions that prove it)."""
        if not self.attacks:
            raise RuntimeError("held() before tried()")
        self.attacks[-1].held = what


_LOGS: list[AttackLog] = []


@pytest.fixture
def attack(request: pytest.FixtureRequest) -> Iterator[AttackLog]:
    """A log of this test's attacks, printed as a table at the end of the run."""
    log = AttackLog(test=request.node.nodeid)
    _LOGS.append(log)
    yield log


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every attack tried, and whether it held, after the run."""
    rows = [(log.test, attack) for log in _LOGS for attack in log.attacks]
    if not rows:
        return
    terminalreporter.section("attacks tried / held")
    held = sum(1 for _, attack in rows if attack.held is not None)
    for test, attack in sorted(rows, key=lambda row: row[1].item):
        verdict = f"held: {attack.held}" if attack.held is not None else "NOT HELD"
        terminalreporter.write_line(f"[{attack.item}] {attack.tried} -> {verdict}  ({test})")
    terminalreporter.write_line(f"{len(rows)} attacks tried, {held} held")
