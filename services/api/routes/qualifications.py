"""`/qualifications`: who may use which machine, until when; each change goes to the acl."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.api import queries
from services.api.deps import DbDep, PersonUser, StaffUser, StateDep
from services.api.schemas.common import Id
from services.api.schemas.qualifications import QualificationCreate, QualificationPublic

router = APIRouter(prefix="/qualifications", tags=["qualifications"])


@router.get("", responses={403: {"description": "Another member's qualifications"}})
def list_qualifications(
    user: PersonUser,
    state: StateDep,
    db: DbDep,
    member: Annotated[Id | None, Query()] = None,
    machine: Annotated[Id | None, Query()] = None,
) -> list[QualificationPublic]:
    """Qualifications, by member then machine; a member sees only their own."""
    if not user.is_staff:
        member = member or user.member
    if member is not None:
        user.check_member(member)
    rows = queries.qualifications(db, state.settings.site, member=member, machine=machine)
    return [QualificationPublic.model_validate(q) for q in rows]


@router.put("")
def grant_qualification(
    body: QualificationCreate, staff: StaffUser, state: StateDep
) -> QualificationPublic:
    """Grant or renew a qualification; the machine's access list follows within moments."""
    row = state.registry.qualify(
        member=body.member,
        site=state.settings.site,
        machine=body.machine,
        valid_until=body.valid_until,
        granted_by=staff.username,
        staff=body.staff,
    )
    state.acl.machines_changed([body.machine])
    return QualificationPublic.model_validate(row)


@router.delete("/{member}/{machine}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_qualification(
    member: Annotated[Id, Path()],
    machine: Annotated[Id, Path()],
    staff: StaffUser,
    state: StateDep,
    db: DbDep,
) -> None:
    """Withdraw a qualification; the machine stops granting the member's cards."""
    row = queries.qualification(db, state.settings.site, member, machine)
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"{member} is not qualified on {machine}"
        )
    db.delete(row)
    db.commit()
    state.acl.machines_changed([machine])
