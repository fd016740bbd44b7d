"""The machine's access list: which card hashes may unlock it, for which member, until when."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from contract import AccessList as AccessListPayload


class DenyReason(StrEnum):
    """Why a card was refused, as published in the badge event's `reason`."""

    UNKNOWN_CARD = "unknown_card"
    EXPIRED = "expired"
    OUT_OF_ORDER = "out_of_order"


@dataclass(frozen=True, slots=True)
class Grant:
    """A card's right to use a machine."""

    card: str
    member: str
    until_ms: int | None = None
    staff: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a card: granted for a member, or denied with a reason."""

    granted: bool
    reason: str
    member: str | None = None
    staff: bool = False


class AccessList:
    """One machine's grants, keyed by card hash; a newer version replaces the whole list."""

    def __init__(self, grants: Iterable[Grant] = (), *, version: int = -1) -> None:
        self.version = version
        self._grants = {g.card: g for g in grants}

    @classmethod
    def from_payload(cls, payload: AccessListPayload) -> AccessList:
        """Build the list published by the api on the retained `acl` topic."""
        grants = (Grant(e.card, e.member, e.until, e.staff) for e in payload.entries)
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
        return Decision(granted=True, reason="ok", member=grant.member, staff=grant.staff)


class Gate(Protocol):
    """A rule beyond the access list that may refuse a granted card (bookings, a machine out of
    order, a member without credit). Gates are asked only when a session would open: a running
    session is never cut by one."""

    def refuse(self, decision: Decision, now_ms: int) -> str | None:
        """The reason to refuse this granted card at wall time `now_ms`, or None to let it in."""
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
