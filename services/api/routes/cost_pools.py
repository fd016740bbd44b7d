"""`/cost-pools`: a month's shared bills (electricity, rent, consumables) and how they are split."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.api import queries
from services.api.deps import StaffUser, StateDep
from services.api.routes.tariffs import percent, plain
from services.api.schemas.billing import CostPoolCreate, CostPoolPublic, MonthText
from services.billing.allocation import KEY_RULES, AllocationKey, CostPool
from services.billing.errors import BillingInputError
from services.billing.money import parse_cents, parse_vat_bp
from services.billing.months import Month

router = APIRouter(prefix="/cost-pools", tags=["cost pools"])


def _base_units(text: str, key: AllocationKey, field: str) -> int:
    """A quantity as written on the bill (kWh, hours) in the key's integer base units."""
    try:
        scaled = Decimal(text.replace(",", ".")) * KEY_RULES[key].base_per_unit
    except InvalidOperation as err:
        raise BillingInputError(field, f"{text!r} is not a number") from err
    if scaled != scaled.to_integral_value():
        raise BillingInputError(field, f"{text!r} is finer than the key's unit")
    return int(scaled)


def _units(quantity: int, key: AllocationKey) -> str:
    return plain(Decimal(quantity) / KEY_RULES[key].base_per_unit)


def pool_public(month: Month, pool: CostPool) -> CostPoolPublic:
    """A cost pool in euros, percent and the key's units."""
    return CostPoolPublic(
        id=pool.id,
        month=str(month),
        name=pool.name,
        total=str(Decimal(pool.total_cents).scaleb(-2)),
        key=pool.key.value,
        machines=[machine for _site, machine in pool.machines],
        weight_set=pool.weight_set,
        billed_quantity=None
        if pool.billed_quantity is None
        else _units(pool.billed_quantity, pool.key),
        remainder_key=None if pool.remainder_key is None else pool.remainder_key.value,
        remainder_weight_set=pool.remainder_weight_set,
        vat=percent(pool.vat_bp),
    )


@router.get("")
def list_cost_pools(
    staff: StaffUser, state: StateDep, month: Annotated[MonthText, Query()]
) -> list[CostPoolPublic]:
    """A month's cost pools, in the order they were entered."""
    parsed = Month.parse(month)
    return [pool_public(parsed, p) for p in queries.pools(state, parsed)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_cost_pool(body: CostPoolCreate, staff: StaffUser, state: StateDep) -> CostPoolPublic:
    """Enter a month's shared bill; refused once the month is issued."""
    month = Month.parse(body.month)
    key = AllocationKey(body.key)
    pool = CostPool(
        name=body.name,
        total_cents=parse_cents(body.total, "total"),
        key=key,
        machines=tuple((state.settings.site, m) for m in body.machines),
        weight_set=body.weight_set,
        billed_quantity=None
        if body.billed_quantity is None
        else _base_units(body.billed_quantity, key, "billed_quantity"),
        remainder_key=None if body.remainder_key is None else AllocationKey(body.remainder_key),
        remainder_weight_set=body.remainder_weight_set,
        vat_bp=parse_vat_bp(body.vat, "vat"),
    )
    return pool_public(month, state.billing.ledger.add_pool(month, pool, source="api"))


@router.delete("/{month}/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_cost_pool(
    month: Annotated[MonthText, Path()],
    name: Annotated[str, Path(min_length=1, max_length=200)],
    staff: StaffUser,
    state: StateDep,
) -> None:
    """Take back a pool entered by mistake, while its month is not issued."""
    parsed = Month.parse(month)
    if name not in {p.name for p in queries.pools(state, parsed)}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{month} has no pool {name!r}")
    state.billing.ledger.remove_pool(parsed, name)
