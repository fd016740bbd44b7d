"""The fiscal pages: the workshop's and the members' tax data, and the month's fiscal documents.

Staff keep a member's billing parties on `/manage/members/{member}/parties` (the forms go to
the api, which checks each party by the fiscal rules and names the field it refuses); the
member reads hers on `/members/{member}/parties`; `/manage/fiscal` shows the workshop's own
profile as the billing settings give it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.api import queries
from services.api.deps import DbDep, Principal, StateDep
from services.api.schemas.common import Id
from services.api.web.access import MemberPage, StaffPage
from services.api.web.render import render
from services.ledger import CardRow
from services.ledger.parties import ADDRESS_FIELDS

router = APIRouter(include_in_schema=False)


def _parties_page(
    request: Request, state: StateDep, db: DbDep, user: Principal, member: Id, *, editable: bool
) -> Response:
    row = queries.member(db, member)
    if row is None:
        return render(
            request, state, "message.html", user, status_code=404, message_key="not_found"
        )
    parties = [queries.party_public(db, party) for party in queries.parties(db, member)]
    cards: list[CardRow] = [c for c in queries.member_cards(state, member) if not c.revoked_at]
    return render(
        request,
        state,
        "member_parties.html",
        user,
        member=row,
        parties=parties,
        cards=cards,
        editable=editable and row.erased_at is None,
        address_fields=ADDRESS_FIELDS,
    )


@router.get("/manage/members/{member}/parties", response_class=HTMLResponse)
def manage_parties(
    request: Request, member: Id, state: StateDep, db: DbDep, user: StaffPage
) -> Response:
    """Coordinators: a member's billing parties, with forms to add, change and delete them."""
    return _parties_page(request, state, db, user, member, editable=True)


@router.get("/members/{member}/parties", response_class=HTMLResponse)
def member_parties(
    request: Request, member: Id, state: StateDep, db: DbDep, user: MemberPage
) -> Response:
    """A member's billing parties, read-only (staff see anyone's, a member her own)."""
    return _parties_page(request, state, db, user, member, editable=False)


@router.get("/manage/fiscal", response_class=HTMLResponse)
def workshop_fiscal(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Coordinators: the workshop's fiscal profile and whether it can issue fatture."""
    return render(
        request, state, "workshop_fiscal.html", user, fiscal=queries.workshop_fiscal(state)
    )
