"""`/machines/{machine}/booking-rules`: whether and how a machine may be booked; coordinators set
them, and the machine's gateway is sent its new opening hours at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from services.api.booking_rules import drop_rules, rules_public, save_rules
from services.api.deps import PersonUser, StaffUser, StateDep
from services.api.routes.machines import MachineId, machine_or_404
from services.api.schemas.bookings import BookingRulesPublic, BookingRulesSave

router = APIRouter(prefix="/machines", tags=["bookings"])

NOT_BOOKABLE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such machine, or it cannot be booked"}
}


@router.get("/{machine}/booking-rules", responses=NOT_BOOKABLE)
def read_booking_rules(machine: MachineId, user: PersonUser, state: StateDep) -> BookingRulesPublic:
    """A machine's booking rules; 404 when it cannot be booked."""
    machine_or_404(state, machine)
    rules = state.reservations.rules(state.settings.site, machine)
    if rules is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{machine} cannot be booked")
    return rules_public(rules)


@router.put("/{machine}/booking-rules", responses={404: {"description": "No such machine"}})
def put_booking_rules(
    machine: MachineId, body: BookingRulesSave, staff: StaffUser, state: StateDep
) -> BookingRulesPublic:
    """Coordinators: make a machine bookable under these rules, or change them."""
    machine_or_404(state, machine)
    return rules_public(save_rules(state, machine, body))


@router.delete("/{machine}/booking-rules", status_code=204, responses=NOT_BOOKABLE)
def delete_booking_rules(machine: MachineId, staff: StaffUser, state: StateDep) -> None:
    """Coordinators: the machine cannot be booked any more (its past bookings stay on record)."""
    machine_or_404(state, machine)
    if not drop_rules(state, machine):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{machine} cannot be booked")
