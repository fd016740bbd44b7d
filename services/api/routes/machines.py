"""`/machines`: registry, policy, the access list a gateway is told, and remote lock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, HTTPException, Path, status
from fastapi.responses import Response

from contract import POLICY_FIELDS, CommandAction
from services.api import queries
from services.api.deps import CurrentUser, PersonUser, StaffUser, StateDep, forbidden
from services.api.photos import ACCEPTED, checked_photo
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


@router.post("/{machine}/retire")
def retire_machine(machine: MachineId, staff: StaffUser, state: StateDep) -> MachinePublic:
    """Retire a machine: it leaves the floor's forms; its past sessions and bills stay."""
    machine_or_404(state, machine)
    row = state.registry.retire_machine(state.settings.site, machine)
    state.names.forget()
    state.acl.machines_changed([machine])
    state.policy.gateways_changed({row.gateway})  # its gateway stops running it
    return MachinePublic.model_validate(row)


@router.put(
    "/{machine}/photo",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        413: {"description": "The photo is larger than the limit"},
        415: {"description": "Not a JPEG, PNG or WebP"},
    },
)
def save_photo(
    machine: MachineId,
    photo: Annotated[bytes, Body(media_type="image/jpeg", description="JPEG, PNG or WebP")],
    staff: StaffUser,
    state: StateDep,
    content_type: Annotated[str, Header()] = "",
) -> None:
    """Give a machine its photo: JPEG, PNG or WebP, told by its bytes, at most 512 KiB."""
    machine_or_404(state, machine)
    found = checked_photo(photo, content_type)
    state.registry.save_photo(state.settings.site, machine, data=photo, content_type=found)


@router.get(
    "/{machine}/photo",
    response_class=Response,
    responses={200: {"content": {t: {} for t in ACCEPTED}}, 404: {"description": "No photo"}},
)
def read_photo(machine: MachineId, user: PersonUser, state: StateDep) -> Response:
    """A machine's photo, served as the type its bytes were found to be."""
    row = state.registry.photo(state.settings.site, machine)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no photo of {machine!r}")
    return Response(
        row.data,
        media_type=row.content_type,
        headers={"Content-Disposition": "inline", "Cache-Control": "private, max-age=300"},
    )


@router.delete("/{machine}/photo", status_code=status.HTTP_204_NO_CONTENT)
def drop_photo(machine: MachineId, staff: StaffUser, state: StateDep) -> None:
    """Take a machine's photo away."""
    machine_or_404(state, machine)
    state.registry.drop_photo(state.settings.site, machine)


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
