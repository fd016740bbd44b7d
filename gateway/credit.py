"""Credit at the gate: a member whose plan requires credit is let in while her credit lasts.

The api puts in each access-list entry of such a member the running time her credit still buys
at this machine (`credit_s`) and when the last session it counted ended (`credit_until`). The
gateway takes off the running time of the sessions it closed itself after that moment, so a
member is refused at her next badge-in once it is spent, with the broker away too; a newer list
that has counted those sessions replaces the estimate. A running session is never cut: the gate
is asked only when a session would open.
"""

from __future__ import annotations

import threading

from contract import SessionRecord
from gateway.access import Decision, DenyReason


class CreditGate:
    """Refuses a credit-required member at badge-in once her credit here is spent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # member -> (ended epoch ms, running seconds) of the sessions closed here
        self._closed: dict[str, list[tuple[int, float]]] = {}

    def refuse(self, decision: Decision, now_ms: int) -> str | None:
        """`no_credit` when the member's credit here is used up, else None."""
        if decision.credit_s is None or decision.member is None:
            return None
        left = decision.credit_s - self.spent_s(decision.member, decision.credit_until_ms)
        return DenyReason.NO_CREDIT if left <= 0 else None

    def spent_s(self, member: str, counted_until_ms: int | None) -> float:
        """Running seconds of the member's sessions closed here and not yet counted by the api."""
        with self._lock:
            closed = self._closed.get(member, [])
            if counted_until_ms is not None:
                # What the api has counted is in its credit_s: forget it here.
                closed = [(ended, s) for ended, s in closed if ended > counted_until_ms]
                self._closed[member] = closed
            return sum(s for _, s in closed)

    def session_closed(self, record: SessionRecord) -> None:
        """Count a session this machine closed against its member's credit."""
        with self._lock:
            self._closed.setdefault(record.member, []).append((record.ended, record.running_s))
