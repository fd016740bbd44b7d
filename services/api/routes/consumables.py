"""`/consumables`: the catalogue and its stock, takes at the machine or by staff, restocks."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import Response

from services.api import queries
from services.api.consumables import new_item, record_take
from services.api.deps import PersonUser, StaffUser, StateDep
from services.api.routes.statements import attachment
from services.api.schemas.billing import MonthText
from services.api.schemas.common import Id
from services.api.schemas.consumables import (
    ConsumableCreate,
    ConsumablePublic,
    ConsumableUpdate,
    RestockCreate,
    TakeCreate,
    TakePublic,
)
from services.api.state import ApiState
from services.billing.exports import takes_csv
from services.billing.months import Month, MonthWindow
from services.billing.store import StoredItem

router = APIRouter(prefix="/consumables", tags=["consumables"])

ItemId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The item's id")]


def _found(state: ApiState, item_id: int) -> StoredItem:
    item = queries.consumable(state, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no item {item_id}")
    return item


@router.get("")
def list_consumables(
    user: PersonUser,
    state: StateDep,
    machine: Annotated[Id | None, Query(description="Only what this machine offers")] = None,
) -> list[ConsumablePublic]:
    """The catalogue with its stock, or what one machine's page offers; retired items only
    for staff."""
    found = queries.consumables(state, machine, retired=user.is_staff)
    return [queries.consumable_public(item) for item in found]


@router.get("/low")
def list_low_stock(staff: StaffUser, state: StateDep) -> list[ConsumablePublic]:
    """Items at or below their low-stock threshold, for a coordinator to restock."""
    return [queries.consumable_public(item) for item in queries.low_stock(state)]


@router.get("/takes")
def list_takes(
    user: PersonUser,
    state: StateDep,
    member: Annotated[Id | None, Query(description="Only this member's takes")] = None,
) -> list[TakePublic]:
    """Takes, newest first: a member sees her own, staff everyone's or one member's."""
    if not user.is_staff:
        member = user.member or ""
    return [queries.take_public(take) for take in queries.takes(state, member=member)]


@router.get(
    "/takes/{month}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "Takes of a month"}},
)
def export_takes(
    month: Annotated[MonthText, Path(description="A month, YYYY-MM")],
    staff: StaffUser,
    state: StateDep,
    lang: Annotated[Literal["it", "en"] | None, Query()] = None,
) -> Response:
    """Everything taken in a local month, priced as taken, for the accountant (CSV)."""
    window = MonthWindow(Month.parse(month), state.billing.tz)
    takes = state.billing.ledger.takes(since=window.start, until=window.end, limit=None)
    text = takes_csv(reversed(takes), state.billing.tz, lang or state.billing.settings.locale)
    return attachment(text, "text/csv; charset=utf-8", f"consumables-{month}.csv")


@router.post("", status_code=status.HTTP_201_CREATED)
def create_consumable(
    body: ConsumableCreate, staff: StaffUser, state: StateDep
) -> ConsumablePublic:
    """Add an item to the catalogue; an opening stock is recorded as its first restock."""
    item = new_item(
        state,
        name=body.name,
        unit=body.unit,
        price_cents=body.price_cents,
        vat_bp=body.vat_bp,
        low_stock=body.low_stock,
        machines=body.machines,
    )
    added = state.billing.ledger.add_item(item, stock=body.stock, by=staff.username)
    return queries.consumable_public(added)


@router.get("/{item_id}", responses={404: {"description": "No such item"}})
def get_consumable(item_id: ItemId, user: PersonUser, state: StateDep) -> ConsumablePublic:
    """One item with its stock."""
    return queries.consumable_public(_found(state, item_id))


@router.put("/{item_id}", responses={404: {"description": "No such item"}})
def update_consumable(
    item_id: ItemId, body: ConsumableUpdate, staff: StaffUser, state: StateDep
) -> ConsumablePublic:
    """Change an item's terms; takes already recorded keep the price they were taken at."""
    _found(state, item_id)
    item = new_item(
        state,
        name=body.name,
        unit=body.unit,
        price_cents=body.price_cents,
        vat_bp=body.vat_bp,
        low_stock=body.low_stock,
        machines=body.machines,
    )
    return queries.consumable_public(state.billing.ledger.update_item(item_id, item))


@router.post("/{item_id}/restock", responses={404: {"description": "No such item"}})
def restock_consumable(
    item_id: ItemId, body: RestockCreate, staff: StaffUser, state: StateDep
) -> ConsumablePublic:
    """Count stock in."""
    _found(state, item_id)
    restocked = state.billing.ledger.restock(item_id, body.quantity, by=staff.username)
    return queries.consumable_public(restocked)


@router.post("/{item_id}/retire", responses={404: {"description": "No such item"}})
def retire_consumable(item_id: ItemId, staff: StaffUser, state: StateDep) -> ConsumablePublic:
    """Stop selling an item: no machine offers it and no take is recorded; past takes stay."""
    _found(state, item_id)
    return queries.consumable_public(state.billing.ledger.retire_item(item_id))


@router.delete("/{item_id}/retire", responses={404: {"description": "No such item"}})
def unretire_consumable(item_id: ItemId, staff: StaffUser, state: StateDep) -> ConsumablePublic:
    """Sell a retired item again."""
    _found(state, item_id)
    return queries.consumable_public(state.billing.ledger.retire_item(item_id, retired=False))


@router.post(
    "/{item_id}/take",
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"description": "No such item"},
        409: {"description": "Dated into a month that has issued statements"},
        422: {"description": "More than in stock, retired, not offered there, not her party"},
    },
)
def take_consumable(
    item_id: ItemId, body: TakeCreate, user: PersonUser, state: StateDep
) -> TakePublic:
    """Record a take, priced now and counted off stock: a member's own, or staff for a member."""
    _found(state, item_id)
    take = record_take(
        state,
        user,
        item_id,
        quantity=body.quantity,
        machine=body.machine,
        member=body.member,
        party=body.party,
        taken_at=body.taken_at,
    )
    return queries.take_public(take)
