"""Credit at the gate: a member whose plan requires credit is let in while her credit lasts.

The api puts in each access-list entry of such a member the running time her credit still buys
at this machine (`credit_s`) and when the last session it counted ended (`credit_until`). The
gateway takes off the running time of the sessions it closed itself after that moment, so a
member is refused at her next badge-in once it is spent, with the broker away too; a newer list
that has counted those sessions replaces the estimate. What it took off is kept in the spool, so
a gateway restarted without network still refuses her. A running session is never cut: the gate
is asked only when a session would open.
"""

from __future__ import annotations

import threading

from contract import SessionRecord
from gateway.access import Decision, DenyReason
from gateway.spool import Spool


class CreditGate:
    """Refuses a credit-required member at badge-in once her credit here is spent."""

    def __init__(self, machine: str = "", spool: Spool | None = None) -> None:
        self._lock = threading.Lock()
        self._machine = machine
        self._spool = spool
        # member -> (ended epoch ms, running seconds) of the sessions closed here
        self._closed: dict[str, list[tuple[int, float]]] = {}
        # Members let in here with a credit rule: only their sessions are counted and kept.
        self._counted: set[str] = set()
        if spool is not None:
            for member, ended, running_s in spool.credit_spent(machine):
                self._closed.setdefault(member, []).append((ended, running_s))

    def refuse(self, decision: Decision, now_ms: int) -> str | None:
        """`no_credit` when the member's credit here is used up, else None."""
        if decision.credit_s is None or decision.member is None:
            return None
        with self._lock:
            self._counted.add(decision.member)
        left = decision.credit_s - self.spent_s(decision.member, decision.credit_until_ms)
        return DenyReason.NO_CREDIT if left <= 0 else None

    def spent_s(self, member: str, counted_until_ms: int | None) -> float:
        """Running seconds of the member's sessions closed here and not yet counted by the api."""
        with self._lock:
            closed = self._closed.get(member, [])
            if counted_until_ms is not None:
                # What the api has counted is in its credit_s: forget it here.
                kept = [(ended, s) for ended, s in closed if ended > counted_until_ms]
                if len(kept) < len(closed) and self._spool is not None:
                    self._spool.forget_credit_spent(self._machine, member, counted_until_ms)
                closed = self._closed[member] = kept
            return sum(s for _, s in closed)

    def session_closed(self, record: SessionRecord) -> None:
        """Count a session this machine closed against its member's credit, if she has a credit
        rule (she was let in with one, or sessions of hers are counted already)."""
        with self._lock:
            if record.member not in self._counted and record.member not in self._closed:
                return
            self._closed.setdefault(record.member, []).append((record.ended, record.running_s))
            if self._spool is not None:
                self._spool.store_credit_spent(
                    self._machine, record.member, record.ended, record.running_s
                )
