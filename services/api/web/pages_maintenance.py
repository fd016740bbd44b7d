"""Maintenance pages: a machine's tasks, faults and service log, and the coordinator's overview.

Forms go to the maintenance routes of the api (`/api/v1/machines/{machine}/maintenance/…`,
`/faults…`) as JSON with the page's CSRF token, like every other page.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.api import queries
from services.api.deps import StateDep
from services.api.machine_service import MachineService
from services.api.photos import ACCEPTED, MAX_PHOTO_BYTES
from services.api.schemas.common import Id
from services.api.web.access import PageUser, StaffPage
from services.api.web.render import render
from services.ledger import FaultRow
from services.ledger.maintenance import TaskState

router = APIRouter(include_in_schema=False)


@router.get("/machines/{machine}/maintenance", response_class=HTMLResponse)
def machine_maintenance(request: Request, machine: Id, state: StateDep, user: PageUser) -> Response:
    """A machine's service state: out of order and why, tasks and what is due, open faults, the
    service log; members and staff report faults, coordinators manage tasks and sign off."""
    row = queries.machine(state, machine)
    if row is None:
        return render(
            request, state, "message.html", user, status_code=404, message_key="not_found"
        )
    site = state.settings.site
    maintenance = state.maintenance
    faults = maintenance.faults(site, machine, open_only=True)
    return render(
        request,
        state,
        "machine_maintenance.html",
        user,
        machine=row,
        out_of_order=maintenance.out_of_order(site).get(machine),
        tasks=maintenance.tasks(site, machine),
        faults=faults,
        reporters=_reporters(state, user, faults),
        log=maintenance.service_log(site, machine),
        accepted=ACCEPTED,
        max_photo_bytes=MAX_PHOTO_BYTES,
    )


def _reporters(state: StateDep, user: PageUser, faults: list[FaultRow]) -> dict[int, str]:
    """Who reported each fault, as this login may see it: a member sees only their own name."""
    names = state.member_names()
    shown = {}
    for fault in faults:
        who = user.shown_member(fault.reported_by)
        if who is not None:
            shown[fault.id] = names.get(who, who)
    return shown


@dataclass(frozen=True, slots=True)
class MachineLine:
    """One machine on the overview: its service state, the tasks due and its open faults."""

    machine: str
    name: str
    service: MachineService
    due: tuple[TaskState, ...]
    faults: tuple[FaultRow, ...]


@router.get("/manage/maintenance", response_class=HTMLResponse)
def manage_maintenance(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Coordinators: every machine's due tasks, the machines out of order and the open faults."""
    site = state.settings.site
    services = state.watch.services()
    names = state.machine_names()
    due: dict[str, list[TaskState]] = {}
    for task in state.maintenance.tasks(site):
        if task.due:
            due.setdefault(task.task.machine, []).append(task)
    faults: dict[str, list[FaultRow]] = {}
    for fault in state.maintenance.faults(site, open_only=True):
        faults.setdefault(fault.machine, []).append(fault)
    lines = [
        MachineLine(
            machine=machine,
            name=names.get(machine, machine),
            service=service,
            due=tuple(due.get(machine, ())),
            faults=tuple(faults.get(machine, ())),
        )
        for machine, service in sorted(services.items())
    ]
    # Out of order first, then those with something due, then the rest; by name within each.
    lines.sort(key=lambda m: (m.service.out_of_order is None, not m.due, m.name))
    return render(
        request,
        state,
        "manage_maintenance.html",
        user,
        lines=lines,
        member_names=state.member_names(),
    )
