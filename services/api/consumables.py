"""Consumables for the api and its pages: who may record a take, and for which member.

A member records only her own takes; staff record for any registered member. A machine named
must be the site's; the item must be offered there and in stock (the ledger refuses otherwise).
"""

from __future__ import annotations

from datetime import datetime

from services.api import queries
from services.api.deps import Principal, forbidden
from services.api.state import ApiState
from services.billing.errors import BillingInputError
from services.billing.store import NewItem, StoredTake


def taker(member: str | None, user: Principal) -> str:
    """The member a take is for: the login's own, or (staff only) the one named."""
    if user.is_staff:
        if member is None:
            if user.member is None:
                raise BillingInputError("member", "name the member who took it")
            return user.member
        return member
    if user.member is None:
        raise forbidden("this login stands for no member")
    if member is not None and member != user.member:
        raise forbidden("a member records only her own takes")
    return user.member


def record_take(
    state: ApiState,
    user: Principal,
    item_id: int,
    *,
    quantity: int,
    machine: str | None,
    member: str | None,
    party: int | None = None,
    taken_at: datetime | None = None,
) -> StoredTake:
    """Record a take for the member `taker` finds, at a machine of the site or none, billed to
    one of her parties if named; only staff date one back."""
    who = taker(member, user)
    if taken_at is not None and not user.is_staff:
        raise forbidden("only staff record a take dated in the past")
    with state.open_db() as db:
        known = queries.member(db, who)
    if known is None or known.erased_at is not None:
        raise BillingInputError("member", f"there is no member {who}")
    site = None
    if machine is not None:
        if queries.machine(state, machine) is None:
            raise BillingInputError("machine", f"there is no machine {machine}")
        site = state.settings.site
    return state.billing.ledger.take(
        item_id,
        member=who,
        quantity=quantity,
        site=site,
        machine=machine,
        by=user.username,
        party=party,
        taken_at=taken_at,
        tz=state.billing.tz,
    )


def new_item(
    state: ApiState,
    *,
    name: str,
    unit: str,
    price_cents: int,
    vat_bp: int,
    low_stock: int,
    machines: list[str],
) -> NewItem:
    """An item's terms, its machines checked against the site's registry."""
    site = state.settings.site
    for machine in machines:
        if queries.machine(state, machine) is None:
            raise BillingInputError("machines", f"there is no machine {machine}")
    return NewItem(
        name=name,
        unit=unit,
        price_cents=price_cents,
        vat_bp=vat_bp,
        low_stock=low_stock,
        machines=tuple((site, machine) for machine in sorted(set(machines))),
    )
