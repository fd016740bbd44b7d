"""`/machines`: registry, policy, the access list a gateway is told, and remote lock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from contract import POLICY_FIELDS, CommandAction
from services.api import queries
from services.api.deps import CurrentUser, PersonUser, StaffUser, StateDep, forbidden
from services.api.schemas.common import Id
from services.api.schemas.machines import (
    AclEntryPublic,
    AclPublic,
    CommandCreate,
    MachinePublic,
    MachineSave,
)
from services.api.security import Role
from services.api.state import ApiState
from services.ledger import MachineRow, MachineSpec

router = APIRouter(prefix="/machines", tags=["machines"])

MachineId = Annotated[Id, Path(description="The machine's id")]


def machine_or_404(state: ApiState, machine: str) -> MachineRow:
    """The machine of this site, or a 404 naming it."""
    row = queries.machine(state, machine)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no machine {machine!r}")
    return row


@router.get("")
def list_machines(user: PersonUser, state: StateDep) -> list[MachinePublic]:
    """The site's machines, by id."""
    return [MachinePublic.model_validate(m) for m in queries.machines(state)]


@router.get("/{machine}")
def read_machine(machine: MachineId, user: PersonUser, state: StateDep) -> MachinePublic:
    """One machine."""
    return MachinePublic.model_validate(machine_or_404(state, machine))


@router.put("/{machine}")
def save_machine(
    machine: MachineId, body: MachineSave, staff: StaffUser, state: StateDep
) -> MachinePublic:
    """Register a machine, or change its name, gateway or policy (left out: kept, or default)."""
    before = queries.machine(state, machine)
    policy = {} if before is None else {name: getattr(before, name) for name in POLICY_FIELDS}
    policy |= {name: value for name in POLICY_FIELDS if (value := getattr(body, name)) is not None}
    spec = MachineSpec(
        site=state.settings.site,
        id=machine,
        name=body.name,
        gateway=body.gateway,
        rated_w=body.rated_w,
        **policy,
    )
    row = state.registry.save_machine(spec)
    state.names.forget()
    state.acl.machines_changed([machine])
    # Both gateways hear of a machine that moved: the old one stops running it by this policy.
    state.policy.gateways_changed({row.gateway} | ({before.gateway} if before else set()))
    return MachinePublic.model_validate(row)


@router.get("/{machine}/acl", responses={403: {"description": "Another gateway's machine"}})
def read_acl(machine: MachineId, user: CurrentUser, state: StateDep) -> AclPublic:
    """The cards the machine grants now: for staff, and for the gateway that runs it."""
    row = machine_or_404(state, machine)
    if not user.is_staff and not (user.role is Role.GATEWAY and user.gateway == row.gateway):
        raise forbidden("only staff and the machine's own gateway read its access list")
    grants = queries.access_list(state, machine)
    return AclPublic(
        machine=machine,
        entries=[
            AclEntryPublic(card_hash=g.card_hash, member=g.member, until=g.until) for g in grants
        ],
    )


@router.post(
    "/{machine}/commands",
    status_code=status.HTTP_202_ACCEPTED,
    responses={503: {"description": "The broker did not take the command"}},
)
def send_command(
    machine: MachineId, body: CommandCreate, staff: StaffUser, state: StateDep
) -> CommandCreate:
    """Lock (or ask to unlock) a machine remotely; its gateway carries it out."""
    machine_or_404(state, machine)
    state.acl.command(machine, CommandAction(body.action), by=staff.username)
    return body
