"""`/members/{member}/parties`: whom a member's documents are made out to, and her cards' party."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status

from services.api import queries
from services.api.deps import DbDep, PersonUser, StaffUser, StateDep
from services.api.schemas.common import CardHash, Id, RowId
from services.api.schemas.parties import PartyCard, PartyCreate, PartyPublic, PartyUpdate
from services.ledger import BillingPartyRow, MemberRow, RegistryError
from services.ledger import parties as ledger_parties

router = APIRouter(prefix="/members/{member}/parties", tags=["parties"])

MemberId = Annotated[Id, Path(description="The member's id")]
PartyId = Annotated[RowId, Path(description="The party's id")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such member, or no such party of hers"}
}
_OTHERS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Another member's parties"},
    **_NOT_FOUND,
}


def _member(db: DbDep, member: str) -> MemberRow:
    row = queries.member(db, member)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no member {member!r}")
    return row


def _party(db: DbDep, member: str, party: int) -> BillingPartyRow:
    _member(db, member)
    row = queries.party(db, party)
    if row is None or row.member != member:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{member!r} has no party {party}")
    return row


@router.get("", responses=_OTHERS)
def list_parties(member: MemberId, user: PersonUser, db: DbDep) -> list[PartyPublic]:
    """A member's parties, oldest first: staff see anyone's, a member her own."""
    user.check_member(member)
    _member(db, member)
    return [queries.party_public(db, row) for row in queries.parties(db, member)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=_NOT_FOUND)
def create_party(
    member: MemberId, body: PartyCreate, staff: StaffUser, state: StateDep, db: DbDep
) -> PartyPublic:
    """Give a member a party, checked as a FatturaPA document needs it; her first is the default."""
    party = ledger_parties.checked_party(body.model_dump(exclude={"label", "default"}))
    row = ledger_parties.add_party(
        db,
        _member(db, member),
        label=body.label,
        party=party,
        default=body.default,
        now=state.clock(),
    )
    db.commit()
    return queries.party_public(db, row)


@router.get("/{party}", responses=_OTHERS)
def read_party(member: MemberId, party: PartyId, user: PersonUser, db: DbDep) -> PartyPublic:
    """One party of a member."""
    user.check_member(member)
    return queries.party_public(db, _party(db, member, party))


@router.patch("/{party}", responses=_NOT_FOUND)
def update_party(
    member: MemberId, party: PartyId, body: PartyUpdate, staff: StaffUser, db: DbDep
) -> PartyPublic:
    """Change a party; the whole party is checked again and nothing is stored unless it passes."""
    row = _party(db, member, party)
    changes = body.model_dump(exclude_unset=True)
    label = changes.pop("label", None)
    ledger_parties.change_party(db, row, label=label, changes=changes)
    db.commit()
    return queries.party_public(db, row)


@router.delete("/{party}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
def delete_party(member: MemberId, party: PartyId, staff: StaffUser, db: DbDep) -> Response:
    """Delete a party: its cards go to the default again, and the oldest left becomes default."""
    ledger_parties.remove_party(db, _party(db, member, party))
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{party}/default", responses=_NOT_FOUND)
def make_default(member: MemberId, party: PartyId, staff: StaffUser, db: DbDep) -> PartyPublic:
    """Make a party the one the member's sessions go to unless a card names another."""
    row = _party(db, member, party)
    ledger_parties.make_default(db, row)
    db.commit()
    return queries.party_public(db, row)


@router.post("/{party}/cards", responses=_NOT_FOUND)
def assign_card(
    member: MemberId,
    party: PartyId,
    body: PartyCard,
    staff: StaffUser,
    state: StateDep,
    db: DbDep,
) -> PartyPublic:
    """Send the sessions of one of the member's cards to this party."""
    row = _party(db, member, party)
    card = queries.card(db, state.settings.site, body.card_hash)
    if card is None:
        raise RegistryError("card_hash", "no such card at this site")
    ledger_parties.assign_card(db, card, row)
    db.commit()
    return queries.party_public(db, row)


@router.delete("/{party}/cards/{card}", responses=_NOT_FOUND)
def unassign_card(
    member: MemberId,
    party: PartyId,
    card: Annotated[CardHash, Path(description="The card's keyed hash")],
    staff: StaffUser,
    state: StateDep,
    db: DbDep,
) -> PartyPublic:
    """Send a card's sessions back to the member's default party."""
    row = _party(db, member, party)
    found = queries.card(db, state.settings.site, card)
    if found is None or found.party_id != row.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="the party has no such card")
    ledger_parties.assign_card(db, found, None)
    db.commit()
    return queries.party_public(db, row)
