"""Bookings at the machine: a gate that keeps booked slots for their bookers, and opening hours.

The api publishes each machine's coming bookings and its opening windows as absolute UTC
intervals, so the gate reads them with the wall clock alone. During a booked slot only the booker
(or staff) is let in; outside the opening windows only staff. A running session is never cut: the
booker who badges in while another member runs is refused `in_use` and told so. A booking nobody
badged in for by its grace time is free again, as the api will mark it a no-show.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum

from contract import BookedSlot, MachineBookings
from gateway.access import Ahead, Decision


class BookingReason(StrEnum):
    """Why the gate refused a card, as published in the badge event's `reason`."""

    BOOKED = "booked"
    CLOSED = "closed"
    IN_USE = "in_use"


def _nobody() -> str | None:
    return None


class ReservationGate:
    """One machine's bookings and opening windows, asked at each badge-in and each tick."""

    def __init__(self, machine: str) -> None:
        self.machine = machine
        self._lock = threading.Lock()
        self._plan: MachineBookings | None = None
        self._showed: set[int] = set()  # bookings whose booker badged in within the grace
        self._occupant: Callable[[], str | None] = _nobody

    def follow(self, occupant: Callable[[], str | None]) -> None:
        """Know who runs the machine now (the member of its open session, or None)."""
        self._occupant = occupant

    def take(self, plan: MachineBookings | None) -> None:
        """Enforce these bookings from now on (None: the machine is not bookable any more)."""
        with self._lock:
            self._plan = plan

    @property
    def bookings(self) -> tuple[BookedSlot, ...]:
        """The bookings the gate knows."""
        with self._lock:
            return () if self._plan is None else self._plan.bookings

    def refuse(self, decision: Decision, now_ms: int) -> str | None:
        """`closed`, `booked` or `in_use` for a granted card, or None to let it in."""
        with self._lock:
            plan = self._plan
            if plan is None or now_ms >= plan.until:
                return None
            closed = plan.open is not None and not any(w.start <= now_ms < w.end for w in plan.open)
            if closed and not decision.staff:
                return BookingReason.CLOSED
            slot = self._held(plan, now_ms)
            if slot is None:
                return None
            if slot.member == decision.member:
                occupant = self._occupant()
                if occupant is not None and occupant != decision.member:
                    return BookingReason.IN_USE
                self._showed.add(slot.id)
                return None
            return None if decision.staff else BookingReason.BOOKED

    def ahead(self, member: str, now_ms: int) -> Ahead | None:
        """The next booking of someone else, once it is within the warning time of `now_ms`."""
        with self._lock:
            plan = self._plan
            if plan is None:
                return None
            warn_ms = plan.warn_before_s * 1000
            for slot in sorted(plan.bookings, key=lambda b: b.start):
                if slot.member == member or slot.end <= now_ms:
                    continue
                if slot.start - now_ms <= warn_ms and self._is_held(plan, slot, now_ms):
                    left_s = max(0.0, (slot.start - now_ms) / 1000)
                    return Ahead(key=f"booking-{slot.id}", reason="booking", seconds_left=left_s)
            return None

    def _held(self, plan: MachineBookings, now_ms: int) -> BookedSlot | None:
        for slot in plan.bookings:
            if slot.start <= now_ms < slot.end and self._is_held(plan, slot, now_ms):
                return slot
        return None

    def _is_held(self, plan: MachineBookings, slot: BookedSlot, now_ms: int) -> bool:
        # After the grace a slot its booker never came for is free again.
        return slot.id in self._showed or now_ms < slot.start + plan.grace_s * 1000
