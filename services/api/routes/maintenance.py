"""`/machines/{machine}/maintenance` and `/machines/{machine}/faults`: service tasks, sign-off,
fault reports; a change of a machine's out-of-order state goes to its gateway's config."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, HTTPException, Path, status
from fastapi.responses import Response

from services.api.deps import PersonUser, StaffUser, StateDep, forbidden
from services.api.photos import ACCEPTED, checked_photo
from services.api.routes.machines import MachineId, machine_or_404
from services.api.schemas.common import RowId
from services.api.schemas.maintenance import (
    FaultCreate,
    FaultPublic,
    MaintenancePublic,
    ServiceLogPublic,
    SignOff,
    TaskCreate,
    TaskPublic,
)
from services.api.state import ApiState
from services.ledger import FaultRow
from services.ledger.maintenance import TaskSpec, TaskState

router = APIRouter(prefix="/machines", tags=["maintenance"])

TaskId = Annotated[RowId, Path(description="The task's id")]
FaultId = Annotated[RowId, Path(description="The fault's id")]


def task_public(state: TaskState) -> TaskPublic:
    """A task as the api shows it."""
    task = state.task
    return TaskPublic(
        id=task.id,
        machine=task.machine,
        title=task.title,
        every_running_h=None if task.every_running_s is None else task.every_running_s / 3600,
        every_days=task.every_days,
        critical=task.critical,
        done_at=task.done_at,
        running_h=round(state.running_h, 3),
        next_on=state.next_on,
        due=state.due,
        due_since=task.due_since,
    )


def fault_public(row: FaultRow) -> FaultPublic:
    """A fault as the api shows it (the photo only says whether there is one)."""
    return FaultPublic(
        id=row.id,
        machine=row.machine,
        text=row.text,
        reported_at=row.reported_at,
        reported_by=row.reported_by,
        photo=row.photo is not None,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
    )


def _settled(state: ApiState, machine: str) -> None:
    """Tell the machine's gateway at once (it may have gone out of order or back in order), and
    the floor and the dashboards."""
    state.watch.check(touched=[machine])


@router.get("/{machine}/maintenance")
def read_maintenance(machine: MachineId, user: PersonUser, state: StateDep) -> MaintenancePublic:
    """A machine's tasks with their counters, its open faults, its service log."""
    machine_or_404(state, machine)
    site = state.settings.site
    maintenance = state.maintenance
    return MaintenancePublic(
        machine=machine,
        out_of_order=maintenance.out_of_order(site).get(machine),
        tasks=[task_public(t) for t in maintenance.tasks(site, machine)],
        faults=[fault_public(f) for f in maintenance.faults(site, machine, open_only=True)],
        log=[ServiceLogPublic.model_validate(e) for e in maintenance.service_log(site, machine)],
    )


@router.post("/{machine}/maintenance/tasks", status_code=status.HTTP_201_CREATED)
def add_task(machine: MachineId, body: TaskCreate, staff: StaffUser, state: StateDep) -> TaskPublic:
    """Set a task on a machine; its counters start now."""
    machine_or_404(state, machine)
    spec = TaskSpec(
        title=body.title,
        every_running_h=body.every_running_h,
        every_days=body.every_days,
        critical=body.critical,
    )
    site = state.settings.site
    row = state.maintenance.add_task(site, machine, spec, by=staff.username)
    [added] = [t for t in state.maintenance.tasks(site, machine) if t.task.id == row.id]
    return task_public(added)


@router.delete("/{machine}/maintenance/tasks/{task}", status_code=status.HTTP_204_NO_CONTENT)
def drop_task(machine: MachineId, task: TaskId, staff: StaffUser, state: StateDep) -> None:
    """Delete a task; what its sign-offs logged stays."""
    if not state.maintenance.drop_task(state.settings.site, machine, task):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{machine} has no task {task}")
    _settled(state, machine)


@router.post("/{machine}/maintenance/tasks/{task}/sign-off")
def sign_off_task(
    machine: MachineId, task: TaskId, body: SignOff, staff: StaffUser, state: StateDep
) -> ServiceLogPublic:
    """Sign a task off: it is logged, its counters start again, the machine may be back in order."""
    entry = state.maintenance.sign_off(
        state.settings.site, machine, task, by=staff.username, notes=body.notes, parts=body.parts
    )
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{machine} has no task {task}")
    _settled(state, machine)
    return ServiceLogPublic.model_validate(entry)


@router.get("/{machine}/faults")
def list_faults(machine: MachineId, user: PersonUser, state: StateDep) -> list[FaultPublic]:
    """A machine's faults, open and closed, newest first."""
    machine_or_404(state, machine)
    return [fault_public(f) for f in state.maintenance.faults(state.settings.site, machine)]


@router.post("/{machine}/faults", status_code=status.HTTP_201_CREATED)
def report_fault(
    machine: MachineId, body: FaultCreate, user: PersonUser, state: StateDep
) -> FaultPublic:
    """Report a fault: the machine is out of order until a coordinator closes it."""
    machine_or_404(state, machine)
    row = state.maintenance.report_fault(
        state.settings.site, machine, body.text, by=user.member or user.username
    )
    _settled(state, machine)
    return fault_public(row)


@router.put(
    "/{machine}/faults/{fault}/photo",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        403: {"description": "Another member's report"},
        413: {"description": "The photo is larger than the limit"},
        415: {"description": "Not a JPEG, PNG or WebP"},
    },
)
def save_fault_photo(
    machine: MachineId,
    fault: FaultId,
    photo: Annotated[bytes, Body(media_type="image/jpeg", description="JPEG, PNG or WebP")],
    user: PersonUser,
    state: StateDep,
    content_type: Annotated[str, Header()] = "",
) -> None:
    """Add a photo to a fault: by whoever reported it, or a coordinator."""
    site = state.settings.site
    row = state.maintenance.fault(site, machine, fault)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{machine} has no fault {fault}")
    if not user.is_staff and row.reported_by != (user.member or user.username):
        raise forbidden("only whoever reported the fault, or a coordinator, adds its photo")
    found = checked_photo(photo, content_type)
    state.maintenance.save_fault_photo(site, machine, fault, data=photo, content_type=found)


@router.get(
    "/{machine}/faults/{fault}/photo",
    response_class=Response,
    responses={200: {"content": {t: {} for t in ACCEPTED}}, 404: {"description": "No photo"}},
)
def read_fault_photo(
    machine: MachineId, fault: FaultId, user: PersonUser, state: StateDep
) -> Response:
    """A fault's photo, as the type its bytes were found to be."""
    row = state.maintenance.fault(state.settings.site, machine, fault)
    if row is None or row.photo is None or row.photo_type is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no photo of fault {fault}")
    return Response(
        row.photo,
        media_type=row.photo_type,
        headers={"Content-Disposition": "inline", "Cache-Control": "private, max-age=300"},
    )


@router.post("/{machine}/faults/{fault}/close")
def close_fault(
    machine: MachineId, fault: FaultId, body: SignOff, staff: StaffUser, state: StateDep
) -> ServiceLogPublic:
    """Close a fault, logging what was done: the machine may be back in order."""
    entry = state.maintenance.close_fault(
        state.settings.site, machine, fault, by=staff.username, notes=body.notes, parts=body.parts
    )
    if entry is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"{machine} has no open fault {fault}"
        )
    _settled(state, machine)
    return ServiceLogPublic.model_validate(entry)
