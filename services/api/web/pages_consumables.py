"""The consumables pages: the coordinators' catalogue, and the machine's page on a phone.

`/manage/consumables` lists every item with its stock (low ones marked), adds items, counts
restocks in, retires an item or sells it again, and records a take for a member (to one of her
parties, on an earlier day of a month with no issued statement). `/machines/{machine}/materials`
is the small form a member opens on her phone at the machine: item, quantity and, if she has
more than one, the party it is billed to, counted off stock at once; an amount beyond the stock
is refused with what is left.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response

from services.api import queries
from services.api.consumables import new_item, record_take
from services.api.deps import StateDep
from services.api.schemas.common import Id
from services.api.web.access import PageUser, StaffPage
from services.api.web.pages_billing import RefusedError, _act, _back, _refused
from services.api.web.render import render
from services.billing.errors import MonthClosedError
from services.ledger.models import BillingPartyRow

router = APIRouter(include_in_schema=False)

ItemId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The item's id")]
PAGE = "/manage/consumables"
DONE = frozenset({"added", "restocked", "taken", "retired", "unretired"})
RECENT = 50
MAX_NUMBER_DIGITS = 9


def _whole(form: dict[str, str], field: str, *, default: int | None = None) -> int:
    """A whole number from a form field, refused (422, naming the field) if it is not one."""
    text = form.get(field, "").strip()
    if not text and default is not None:
        return default
    if not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        raise RefusedError(422, field, "a whole number, 0 or more")
    return int(text)


def _party(form: dict[str, str]) -> int | None:
    """The billing party a form names; empty: the member's default."""
    text = form.get("party", "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        raise RefusedError(422, "party", "one of the member's billing parties")
    return int(text)


def _taken_at(form: dict[str, str], state: StateDep) -> datetime | None:
    """Midday of the day a form names, in the workshop's zone; empty or today: now."""
    text = form.get("taken_on", "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as err:
        raise RefusedError(422, "taken_on", "a day, YYYY-MM-DD") from err
    tz = state.billing.tz
    if day == state.billing.ledger.now().astimezone(tz).date():
        return None
    return datetime.combine(day, time(12), tz)


def _parties(state: StateDep, member: str | None) -> list[BillingPartyRow]:
    if member is None:
        return []
    with state.open_db() as db:
        return list(queries.parties(db, member))


def _done(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in DONE else None


@router.get(PAGE, response_class=HTMLResponse)
def manage_consumables(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Staff: the catalogue with stock and low marks, restocks, takes recorded for members."""
    return render(
        request,
        state,
        "manage_consumables.html",
        user,
        items=queries.consumables(state),
        takes=queries.takes(state, limit=RECENT),
        machines=queries.machines(state),
        done=_done(request),
    )


@router.post(PAGE, response_class=HTMLResponse)
async def add_consumable(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Staff: add an item, with its opening stock."""

    def action(form: dict[str, str]) -> Response:
        machines = [m.strip() for m in form.get("machines", "").split(",") if m.strip()]
        item = new_item(
            state,
            name=form.get("name", "").strip(),
            unit=form.get("unit", "").strip(),
            price_cents=_whole(form, "price_cents"),
            vat_bp=_whole(form, "vat_bp", default=0),
            low_stock=_whole(form, "low_stock", default=0),
            machines=machines,
        )
        stock = _whole(form, "stock", default=0)
        state.billing.ledger.add_item(item, stock=stock, by=user.username)
        return _back(PAGE, "added")

    return await _act(request, state, user, action)


@router.post(PAGE + "/{item_id}/restock", response_class=HTMLResponse)
async def restock_consumable(
    request: Request, item_id: ItemId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: count stock in."""

    def action(form: dict[str, str]) -> Response:
        state.billing.ledger.restock(item_id, _whole(form, "quantity"), by=user.username)
        return _back(PAGE, "restocked")

    return await _act(request, state, user, action)


@router.post(PAGE + "/{item_id}/take", response_class=HTMLResponse)
async def take_for_member(
    request: Request, item_id: ItemId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: record what a member took."""

    def action(form: dict[str, str]) -> Response:
        member = form.get("member", "").strip()
        if not member:
            raise RefusedError(422, "member", "name the member who took it")
        try:
            record_take(
                state,
                user,
                item_id,
                quantity=_whole(form, "quantity"),
                machine=None,
                member=member,
                party=_party(form),
                taken_at=_taken_at(form, state),
            )
        except MonthClosedError as err:
            raise RefusedError(409, "taken_on", str(err)) from err
        return _back(PAGE, "taken")

    return await _act(request, state, user, action)


@router.post(PAGE + "/{item_id}/retire", response_class=HTMLResponse)
async def retire_consumable(
    request: Request, item_id: ItemId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: stop selling an item (`retired=0`: sell it again); its takes stay."""

    def action(form: dict[str, str]) -> Response:
        retired = form.get("retired", "1") != "0"
        state.billing.ledger.retire_item(item_id, retired=retired)
        return _back(PAGE, "retired" if retired else "unretired")

    return await _act(request, state, user, action)


@router.get("/machines/{machine}/materials", response_class=HTMLResponse)
def machine_materials(request: Request, machine: Id, state: StateDep, user: PageUser) -> Response:
    """The phone form at a machine: what it offers, with stock, and the member's recent takes."""
    if queries.machine(state, machine) is None:
        return _refused(request, state, user, RefusedError(404, "machine", f"no machine {machine}"))
    mine = queries.takes(state, member=user.member, limit=10) if user.member else []
    return render(
        request,
        state,
        "machine_materials.html",
        user,
        machine=machine,
        name=state.machine_names().get(machine, machine),
        items=queries.consumables(state, machine),
        takes=mine,
        parties=_parties(state, user.member),
        done=_done(request),
    )


@router.post("/machines/{machine}/materials", response_class=HTMLResponse)
async def take_at_machine(
    request: Request, machine: Id, state: StateDep, user: PageUser
) -> Response:
    """A member records what she took at the machine (staff may name the member)."""

    def action(form: dict[str, str]) -> Response:
        item = _whole(form, "item")
        member = form.get("member", "").strip() or None
        try:
            record_take(
                state,
                user,
                item,
                quantity=_whole(form, "quantity"),
                machine=machine,
                member=member,
                party=_party(form),
            )
        except HTTPException as err:  # another member's take, or a login that is no member
            raise RefusedError(err.status_code, "member", str(err.detail)) from err
        return _back(f"/machines/{machine}/materials", "taken")

    return await _act(request, state, user, action)
