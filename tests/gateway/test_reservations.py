"""The gate that keeps booked slots at the machine: closed hours, a slot kept for its booker,
a running session never cut, a no-show slot free again after the grace, staff always passing."""

from __future__ import annotations

from contract import BookedSlot, MachineBookings, OpenWindow
from gateway.access import Decision
from gateway.reservations import BookingReason, ReservationGate

T0 = 1_800_000_000_000
MIN = 60_000


def member(name: str, *, staff: bool = False) -> Decision:
    """A card the access list granted."""
    return Decision(granted=True, reason="ok", member=name, staff=staff)


def gate(*, open_windows: tuple[OpenWindow, ...] | None = None) -> ReservationGate:
    """Giulia's slot from T0 for 30 minutes, marco's right after; 10 minutes' grace and warning."""
    plan = MachineBookings(
        machine="laser-1",
        until=T0 + 24 * 60 * MIN,
        bookings=(
            BookedSlot(id=1, member="giulia", start=T0, end=T0 + 30 * MIN),
            BookedSlot(id=2, member="marco", start=T0 + 30 * MIN, end=T0 + 60 * MIN),
        ),
        open=open_windows,
        grace_s=600.0,
        warn_before_s=600.0,
    )
    held = ReservationGate("laser-1")
    held.take(plan)
    return held


def test_outside_the_opening_windows_only_staff_are_let_in() -> None:
    held = gate(open_windows=(OpenWindow(start=T0, end=T0 + 120 * MIN),))
    assert held.refuse(member("anna"), T0 - MIN) == BookingReason.CLOSED
    assert held.refuse(member("anna", staff=True), T0 - MIN) is None
    assert held.refuse(member("anna"), T0 + 90 * MIN) is None
    assert held.refuse(member("anna"), T0 + 120 * MIN) == BookingReason.CLOSED


def test_a_booked_slot_is_kept_for_its_booker_and_staff_pass() -> None:
    held = gate()
    assert held.refuse(member("anna"), T0 + MIN) == BookingReason.BOOKED
    assert held.refuse(member("anna", staff=True), T0 + MIN) is None
    assert held.refuse(member("giulia"), T0 + MIN) is None
    assert held.refuse(member("anna"), T0 - MIN) is None  # free before the slot


def test_a_running_session_is_never_cut_the_booker_is_told_in_use() -> None:
    held = gate()
    held.follow(lambda: "anna")
    assert held.refuse(member("giulia"), T0 + MIN) == BookingReason.IN_USE


def test_a_slot_nobody_came_for_is_free_after_the_grace() -> None:
    held = gate()
    assert held.refuse(member("anna"), T0 + 9 * MIN) == BookingReason.BOOKED
    assert held.refuse(member("anna"), T0 + 11 * MIN) is None
    assert held.refuse(member("giulia"), T0 + 20 * MIN) is None  # hers to take still


def test_a_slot_its_booker_showed_for_stays_kept_after_the_grace() -> None:
    held = gate()
    assert held.refuse(member("giulia"), T0 + 5 * MIN) is None
    assert held.refuse(member("anna"), T0 + 20 * MIN) == BookingReason.BOOKED


def test_whoever_runs_is_warned_before_the_next_booking_of_someone_else() -> None:
    held = gate()
    assert held.ahead("anna", T0 - 20 * MIN) is None
    ahead = held.ahead("anna", T0 - 5 * MIN)
    assert ahead is not None and ahead.key == "booking-1" and ahead.seconds_left == 300
    assert held.ahead("giulia", T0 + 25 * MIN) is not None  # marco's comes next
    held.take(None)
    assert held.refuse(member("anna"), T0 + MIN) is None
    assert held.ahead("anna", T0 - 5 * MIN) is None
