"""`/workshop`: the workshop's fiscal profile, as the billing settings give it (read-only)."""

from __future__ import annotations

from fastapi import APIRouter

from services.api import queries
from services.api.deps import StaffUser, StateDep
from services.api.schemas.workshop import WorkshopFiscalPublic

router = APIRouter(prefix="/workshop", tags=["workshop"])


@router.get("/fiscal")
def workshop_fiscal(staff: StaffUser, state: StateDep) -> WorkshopFiscalPublic:
    """The seller on the workshop's fiscal documents, and whether it can issue fatture."""
    return queries.workshop_fiscal(state)
