"""A member's credit page: her balance, movements and packs; staff record top-ups, sell packs.

`/members/{member}/credit` is the member's own page (staff see anyone's). Staff get two forms:
a top-up (amount in euros and why) and a pack from the catalogue. `/manage/packs` is the
catalogue: a pack's name, price and validity are changed there (for packs sold from then on)
and a pack is retired from sale; packs already sold keep their terms. A bank credit waiting on the
payments page can be put on a member's credit from there. Each change republishes the access
lists, so the gateways let a credit-required member in by what her credit buys now.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from services.api import queries
from services.api.deps import DbDep, StateDep
from services.api.schemas.common import Id
from services.api.web.access import MemberPage, StaffPage
from services.api.web.i18n import language_of
from services.api.web.pages_billing import RefusedError, _act, _back
from services.api.web.render import render
from services.billing import formats
from services.billing.money import parse_cents
from services.billing.tariffs import METER_UNITS

router = APIRouter(include_in_schema=False)

MemberId = Annotated[Id, Path(description="The member's id")]
PaymentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The payment's id")]
DONE = frozenset({"topped_up", "sold"})
CATALOGUE = "/manage/packs"
CATALOGUE_DONE = frozenset({"edited", "retired"})
ProductId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The pack's id")]
MAX_DAYS_DIGITS = 4


def _page(member: str) -> str:
    return f"/members/{member}/credit"


@router.get("/members/{member}/credit", response_class=HTMLResponse)
def credit_page(
    request: Request, member: MemberId, state: StateDep, db: DbDep, user: MemberPage
) -> Response:
    """A member's balance, history and packs; staff also top up and sell packs here."""
    row = queries.member(db, member)
    ledger = state.billing.ledger
    movements = ledger.credit_movements(member) if row is not None else []
    lang = language_of(request).value
    packs = [
        (
            pack,
            f"{formats.quantity(pack.left, METER_UNITS[pack.meter].base_per_unit, lang)}",
            f"{formats.quantity(pack.quantity, METER_UNITS[pack.meter].base_per_unit, lang)}"
            f" {METER_UNITS[pack.meter].symbol}",
        )
        for pack in (ledger.member_packs(member) if row is not None else [])
    ]
    done = request.query_params.get("done")
    return render(
        request,
        state,
        "member_credit.html",
        user,
        member_id=member,
        member_name=row.name if row is not None else member,
        balance=movements[-1].balance_after_cents if movements else 0,
        movements=list(reversed(movements)),
        packs=packs,
        products=ledger.pack_products() if user.is_staff else [],
        staff=user.is_staff,
        done=done if done in DONE else None,
    )


@router.post("/members/{member}/credit/top-up", response_class=HTMLResponse)
async def top_up(request: Request, member: MemberId, state: StateDep, user: StaffPage) -> Response:
    """Staff: record money put on a member's credit."""

    def action(form: dict[str, str]) -> Response:
        cents = parse_cents(form.get("amount", "").strip() or "0", "amount")
        state.billing.ledger.top_up(member, cents, by=user.username, note=form.get("note", ""))
        state.acl.members_changed()
        return _back(_page(member), "topped_up")

    return await _act(request, state, user, action)


@router.post("/members/{member}/credit/pack", response_class=HTMLResponse)
async def sell_pack(
    request: Request, member: MemberId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: sell a pack of the catalogue to a member."""

    def action(form: dict[str, str]) -> Response:
        product = form.get("product", "")
        if not product.isdigit() or len(product) > 9:
            raise RefusedError(422, "product", "choose a pack of the catalogue")
        state.billing.ledger.buy_pack(member, int(product), by=user.username)
        state.acl.members_changed()
        return _back(_page(member), "sold")

    return await _act(request, state, user, action)


@router.post("/manage/payments/{payment_id}/to-credit", response_class=HTMLResponse)
async def payment_to_credit(
    request: Request, payment_id: PaymentId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: put a waiting bank credit on a member's credit."""

    def action(form: dict[str, str]) -> Response:
        if queries.payment(state, payment_id) is None:
            raise RefusedError(404, "payment", f"there is no payment {payment_id}")
        member = form.get("member", "").strip()
        if not member:
            raise RefusedError(422, "member", "give the member whose credit it is")
        state.billing.ledger.credit_to_top_up(payment_id, member, by=user.username)
        state.acl.members_changed()
        return _back("/manage/payments", "assigned")

    return await _act(request, state, user, action)


@router.get(CATALOGUE, response_class=HTMLResponse)
def pack_catalogue(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Staff: the packs on sale, each editable and retirable."""
    lang = language_of(request).value
    products = [
        (
            product,
            f"{formats.quantity(product.quantity, METER_UNITS[product.meter].base_per_unit, lang)}"
            f" {METER_UNITS[product.meter].symbol}",
        )
        for product in state.billing.ledger.pack_products()
    ]
    done = request.query_params.get("done")
    return render(
        request,
        state,
        "manage_packs.html",
        user,
        products=products,
        done=done if done in CATALOGUE_DONE else None,
    )


@router.post(CATALOGUE + "/{product_id}", response_class=HTMLResponse)
async def edit_pack(
    request: Request, product_id: ProductId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: change a pack's name, price (in euros) or validity (in days)."""

    def action(form: dict[str, str]) -> Response:
        if state.billing.ledger.pack_product(product_id) is None:
            raise RefusedError(404, "product", f"there is no pack {product_id}")
        name = form.get("name", "").strip() or None
        price = form.get("price", "").strip()
        days = form.get("valid_days", "").strip()
        if days and (not days.isdigit() or len(days) > MAX_DAYS_DIGITS):
            raise RefusedError(422, "valid_days", "a whole number of days")
        state.billing.ledger.edit_pack_product(
            product_id,
            name=name,
            price_cents=parse_cents(price, "price") if price else None,
            valid_days=int(days) if days else None,
        )
        return _back(CATALOGUE, "edited")

    return await _act(request, state, user, action)


@router.post(CATALOGUE + "/{product_id}/retire", response_class=HTMLResponse)
async def retire_pack(
    request: Request, product_id: ProductId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: take a pack off sale; packs already sold are untouched."""

    def action(form: dict[str, str]) -> Response:
        if state.billing.ledger.pack_product(product_id) is None:
            raise RefusedError(404, "product", f"there is no pack {product_id}")
        state.billing.ledger.retire_pack_product(product_id)
        return _back(CATALOGUE, "retired")

    return await _act(request, state, user, action)
