"""`/cards`: a member's cards, registered by UID or by badging them at a machine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool

from contract import card_hash
from services.api import queries
from services.api.deps import DbDep, PersonUser, StaffUser, StateDep
from services.api.schemas.cards import CardCreate, CardEnrol, CardPublic
from services.api.schemas.common import CardHash, Id
from services.api.state import ApiState
from services.ledger import CardRow, RegistryError

router = APIRouter(prefix="/cards", tags=["cards"])


def _register(state: ApiState, *, member: str, card: str, label: str | None) -> CardRow:
    if state.registry.member(member) is None:
        raise RegistryError("member", f"{member!r} is not a registered member")
    row = state.registry.add_card(
        site=state.settings.site, card_hash=card, member=member, label=label
    )
    state.acl.machines_changed(queries.machines_granting(state, member))
    return row


@router.get("", responses={403: {"description": "Another member's cards"}})
def list_cards(
    user: PersonUser, state: StateDep, member: Annotated[Id | None, Query()] = None
) -> list[CardPublic]:
    """A member's cards (a member sees only their own; staff must name the member)."""
    if member is None:
        if user.member is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="member: required")
        member = user.member
    user.check_member(member)
    return [CardPublic.model_validate(c) for c in queries.member_cards(state, member)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_card(body: CardCreate, staff: StaffUser, state: StateDep) -> CardPublic:
    """Register a card by the UID printed on it, or by its keyed hash."""
    if body.uid is not None:
        try:
            card = card_hash(body.uid, state.settings.site_key.encode())
        except ValueError as err:
            raise RegistryError("uid", str(err)) from err
    else:
        assert body.card_hash is not None  # the schema guarantees one of the two
        card = body.card_hash
    return CardPublic.model_validate(
        _register(state, member=body.member, card=card, label=body.label)
    )


@router.post(
    "/enrol",
    status_code=status.HTTP_201_CREATED,
    responses={408: {"description": "No card was badged in time"}},
)
async def enrol_card(body: CardEnrol, staff: StaffUser, state: StateDep) -> CardPublic:
    """Wait for the next card badged at the machine and give it to the member."""
    if await run_in_threadpool(queries.machine, state, body.machine) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no machine {body.machine!r}")
    if await run_in_threadpool(state.registry.member, body.member) is None:
        raise RegistryError("member", f"{body.member!r} is not a registered member")
    card = await state.waiters.next_card(body.machine, timeout_s=body.timeout_s)
    row = await run_in_threadpool(
        lambda: _register(state, member=body.member, card=card, label=body.label)
    )
    return CardPublic.model_validate(row)


@router.post("/{card}/revoke")
def revoke_card(
    card: Annotated[CardHash, Path(description="The card's keyed hash")],
    staff: StaffUser,
    state: StateDep,
    db: DbDep,
) -> CardPublic:
    """Stop a card from opening anything (lost, stolen, given back); revoking twice is harmless."""
    site = state.settings.site
    if queries.card(db, site, card) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such card at this site")
    state.registry.revoke_card(site=site, card_hash=card)
    db.expire_all()
    row = queries.card(db, site, card)
    assert row is not None
    state.acl.machines_changed(queries.machines_granting(state, row.member))
    return CardPublic.model_validate(row)
