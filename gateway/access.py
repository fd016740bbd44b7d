"""The machine's access list: which card hashes may unlock it, for which member, until when."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from contract import AccessList as AccessListPayload
from contract import SessionRecord


class DenyReason(StrEnum):
    """Why a card was refused, as published in the badge event's `reason`."""

    UNKNOWN_CARD = "unknown_card"
    EXPIRED = "expired"
    NO_CREDIT = "no_credit"
    OUT_OF_ORDER = "out_of_order"


@dataclass(frozen=True, slots=True)
class Grant:
    """A card's right to use a machine."""

    card: str
    member: str
    until_ms: int | None = None
    staff: bool = False
    credit_s: float | None = None
    credit_until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a card: granted for a member, or denied with a reason.

    `credit_s` and `credit_until_ms` come from the grant: the running time the member's credit
    bought here when the list was made, and when the last session counted in it ended.
    """

    granted: bool
    reason: str
    member: str | None = None
    staff: bool = False
    credit_s: float | None = None
    credit_until_ms: int | None = None


class AccessList:
    """One machine's grants, keyed by card hash; a newer version replaces the whole list."""

    def __init__(self, grants: Iterable[Grant] = (), *, version: int = -1) -> None:
        self.version = version
        self._grants = {g.card: g for g in grants}

    @classmethod
    def from_payload(cls, payload: AccessListPayload) -> AccessList:
        """Build the list published by the api on the retained `acl` topic."""
        grants = (
            Grant(e.card, e.member, e.until, e.staff, e.credit_s, e.credit_until)
            for e in payload.entries
        )
        return cls(grants, version=payload.version)

    def __len__(self) -> int:
        return len(self._grants)

    def decide(self, card: str, now_ms: int) -> Decision:
        """Grant or deny a card hash at wall time `now_ms`."""
        grant = self._grants.get(card)
        if grant is None:
            return Decision(granted=False, reason=DenyReason.UNKNOWN_CARD)
        if grant.until_ms is not None and now_ms >= grant.until_ms:
            return Decision(granted=False, reason=DenyReason.EXPIRED, member=grant.member)
        return Decision(
            granted=True,
            reason="ok",
            member=grant.member,
            staff=grant.staff,
            credit_s=grant.credit_s,
            credit_until_ms=grant.credit_until_ms,
        )


class Gate(Protocol):
    """A rule beyond the access list that may refuse a granted card (bookings, a machine out of
    order, a member without credit). Gates are asked only when a session would open: a running
    session is never cut by one."""

    def refuse(self, decision: Decision, now_ms: int) -> str | None:
        """The reason to refuse this granted card at wall time `now_ms`, or None to let it in."""
        ...


@runtime_checkable
class SessionWatcher(Protocol):
    """A gate that keeps count of the sessions its machine closes (credit spent offline)."""

    def session_closed(self, record: SessionRecord) -> None:
        """A session of this machine was closed, as it is published."""
        ...


class OutOfOrder:
    """A gate shut while the machine is out of order: only its staff may start a session, for
    the repair. The api's config sets the reason; None means the machine is in order."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason

    def refuse(self, decision: Decision, now_ms: int) -> str | None:
        """Refuse a member's card while out of order; staff pass."""
        if self.reason is None or decision.staff:
            return None
        return DenyReason.OUT_OF_ORDER


@dataclass(frozen=True, slots=True, kw_only=True)
class Ahead:
    """Something coming that the member at the machine must be warned of (the next booking)."""

    key: str
    reason: str
    seconds_left: float


class Notice(Protocol):
    """A rule that warns whoever runs the machine before something comes (the next booking).
    It warns only: a running session is never cut by one."""

    def ahead(self, member: str, now_ms: int) -> Ahead | None:
        """What is coming for `member` at wall time `now_ms` that she must be warned of."""
        ...
