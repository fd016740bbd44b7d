"""`/review`: what a coordinator decides on: held sessions, and conflicting copies to see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.api.deps import StaffUser, StateDep
from services.api.schemas.review import HeldSessionPublic, SessionConflictPublic
from services.api.state import ApiState
from services.ledger import HeldSessionNotFoundError, HeldSessionRow, ReviewQueue

router = APIRouter(prefix="/review", tags=["review"])

SessionIdPath = Annotated[str, Path(description="The held session's id", max_length=36)]


def _queue(state: ApiState) -> ReviewQueue:
    return ReviewQueue(state.engine, clock=state.clock)


@router.get("/held")
def held_sessions(staff: StaffUser, state: StateDep) -> list[HeldSessionPublic]:
    """Sessions held from billing (their member was not in the registry), oldest first."""
    rows = _queue(state).held(site=state.settings.site)
    return [HeldSessionPublic.model_validate(row) for row in rows]


@router.post("/held/{session_id}/release")
def release(session_id: SessionIdPath, staff: StaffUser, state: StateDep) -> HeldSessionPublic:
    """Bill a held session from now on; its member must be in the registry (422 if not)."""
    return _decided(lambda queue: queue.release(session_id, by=staff.username), state)


@router.post("/held/{session_id}/dismiss")
def dismiss(session_id: SessionIdPath, staff: StaffUser, state: StateDep) -> HeldSessionPublic:
    """Never bill a held session; it stays booked, for the record."""
    return _decided(lambda queue: queue.dismiss(session_id, by=staff.username), state)


@router.get("/conflicts")
def conflicts(
    staff: StaffUser,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SessionConflictPublic]:
    """Sessions delivered again with another body, newest first: both bodies, when, whence."""
    rows = _queue(state).conflicts(site=state.settings.site, limit=limit)
    return [SessionConflictPublic.model_validate(row) for row in rows]


def _decided(decide: Callable[[ReviewQueue], HeldSessionRow], state: ApiState) -> HeldSessionPublic:
    try:
        row = decide(_queue(state))
    except HeldSessionNotFoundError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(err)) from err
    return HeldSessionPublic.model_validate(row)
