"""`/members/{id}/credit` and `/packs`: members' credit, top-ups, the pack catalogue, packs sold.

A change of a member's credit or packs republishes the access lists, so a member whose plan
requires credit is let in (or refused) at the gateways by what her credit buys now.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from services.api import queries
from services.api.deps import DbDep, PersonUser, StaffUser, StateDep
from services.api.routes.members import member_or_404
from services.api.schemas.common import Id
from services.api.schemas.credit import (
    CreditPublic,
    MovementPublic,
    PackBuy,
    PackProductCreate,
    PackProductPublic,
    PackProductUpdate,
    PackPublic,
    PaymentToCredit,
    TakeBackCreate,
    TopUpCreate,
)
from services.api.schemas.payments import PaymentPublic
from services.billing.money import parse_vat_bp
from services.billing.tariffs import Meter

router = APIRouter(tags=["credit"])

MemberId = Annotated[Id, Path(description="The member's id")]
ProductId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The pack's id")]
PaymentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The payment's id")]


@router.get("/members/{member_id}/credit", responses={404: {"description": "No such member"}})
def member_credit(
    member_id: MemberId, user: PersonUser, state: StateDep, db: DbDep
) -> CreditPublic:
    """A member's balance, movements and packs (a member sees her own)."""
    user.check_member(member_id)
    member_or_404(db, member_id)
    ledger = state.billing.ledger
    movements = ledger.credit_movements(member_id)
    return CreditPublic(
        member=member_id,
        balance_cents=movements[-1].balance_after_cents if movements else 0,
        movements=[queries.movement_public(m) for m in movements],
        packs=[queries.pack_public(p) for p in ledger.member_packs(member_id)],
    )


@router.post(
    "/members/{member_id}/credit/top-ups",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "No such member"}},
)
def top_up(
    member_id: MemberId, body: TopUpCreate, staff: StaffUser, state: StateDep, db: DbDep
) -> MovementPublic:
    """Record money put on a member's credit: who, when and why are kept."""
    member_or_404(db, member_id)
    moved = state.billing.ledger.top_up(
        member_id, body.amount_cents, by=staff.username, note=body.note
    )
    state.acl.members_changed()
    return queries.movement_public(moved)


@router.post(
    "/members/{member_id}/credit/take-backs",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "No such member"}},
)
def take_back(
    member_id: MemberId, body: TakeBackCreate, staff: StaffUser, state: StateDep, db: DbDep
) -> MovementPublic:
    """Take back credit recorded in error, never more than the balance."""
    member_or_404(db, member_id)
    moved = state.billing.ledger.take_back(
        member_id, body.amount_cents, by=staff.username, note=body.note
    )
    state.acl.members_changed()
    return queries.movement_public(moved)


@router.post(
    "/members/{member_id}/packs",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "No such member"}},
)
def sell_pack(
    member_id: MemberId, body: PackBuy, staff: StaffUser, state: StateDep, db: DbDep
) -> PackPublic:
    """Sell a pack to a member: valid from now, invoiced on this month's statement."""
    member_or_404(db, member_id)
    pack = state.billing.ledger.buy_pack(member_id, body.product_id, by=staff.username)
    state.acl.members_changed()
    return queries.pack_public(pack)


@router.get("/packs")
def list_packs(user: PersonUser, state: StateDep) -> list[PackProductPublic]:
    """The packs on sale, by name."""
    return [queries.product_public(p) for p in state.billing.ledger.pack_products()]


@router.post("/packs", status_code=status.HTTP_201_CREATED)
def add_pack(body: PackProductCreate, staff: StaffUser, state: StateDep) -> PackProductPublic:
    """Put a pack on sale."""
    product = state.billing.ledger.add_pack_product(
        name=body.name,
        meter=Meter(body.meter),
        quantity=body.quantity,
        price_cents=body.price_cents,
        vat_bp=parse_vat_bp(body.vat, "vat"),
        valid_days=body.valid_days,
        site=body.site,
        machine=body.machine,
    )
    return queries.product_public(product)


def _product_or_404(state: StateDep, product_id: int) -> None:
    if state.billing.ledger.pack_product(product_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no pack {product_id}")


@router.put(
    "/packs/{product_id}",
    responses={404: {"description": "No such pack"}, 409: {"description": "The pack is retired"}},
)
def edit_pack(
    product_id: ProductId, body: PackProductUpdate, staff: StaffUser, state: StateDep
) -> PackProductPublic:
    """Change a pack's name, price or validity; packs already sold keep their terms."""
    _product_or_404(state, product_id)
    product = state.billing.ledger.edit_pack_product(
        product_id, name=body.name, price_cents=body.price_cents, valid_days=body.valid_days
    )
    return queries.product_public(product)


@router.post(
    "/packs/{product_id}/retire",
    responses={404: {"description": "No such pack"}, 409: {"description": "Retired already"}},
)
def retire_pack(product_id: ProductId, staff: StaffUser, state: StateDep) -> PackProductPublic:
    """Take a pack off sale: it can no longer be sold; packs already sold are untouched."""
    _product_or_404(state, product_id)
    return queries.product_public(state.billing.ledger.retire_pack_product(product_id))


@router.post(
    "/payments/{payment_id}/to-credit",
    responses={
        404: {"description": "No such payment"},
        409: {"description": "The payment is settled already"},
    },
)
def payment_to_credit(
    payment_id: PaymentId, body: PaymentToCredit, staff: StaffUser, state: StateDep, db: DbDep
) -> PaymentPublic:
    """Put a waiting bank credit on a member's credit, as a top-up."""
    if queries.payment(state, payment_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no payment {payment_id}")
    member_or_404(db, body.member)
    state.billing.ledger.credit_to_top_up(payment_id, body.member, by=staff.username)
    state.acl.members_changed()
    payment = queries.payment(state, payment_id)
    assert payment is not None  # payments are never deleted
    return queries.payment_public(payment)
