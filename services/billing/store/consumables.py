"""Consumables: the catalogue, takes counted off stock, restocks counted on; a transaction each.

A retired item is neither offered nor taken; its past takes stay as they were recorded. A take
may name one of the member's billing parties, and staff may date it back into a month that has
no issued statement yet.

A take lowers the item's stock with a conditional update (`stock >= quantity`) in the
transaction that records it, so two members taking the last sheet at once cannot both have it,
and stock is always what was restocked less what was taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.billing.consumables import ConsumableTake, priced
from services.billing.errors import BillingInputError, MonthClosedError
from services.billing.models import (
    ConsumableItemRow,
    ConsumableMachineRow,
    ConsumableRestockRow,
    ConsumableTakeRow,
)
from services.billing.months import Month, MonthWindow
from services.billing.store.base import StoreBase
from services.billing.store.statements import issued_count
from services.ledger.models import BillingPartyRow

MAX_QUANTITY = 1_000_000  # units in one take or restock: a typo, not a delivery, above this


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredItem:
    """A catalogue item with its stock now."""

    id: int
    name: str
    unit: str
    price_cents: int
    vat_bp: int
    stock: int
    low_stock: int
    machines: tuple[tuple[str, str], ...]
    retired_at: datetime | None = None

    @property
    def retired(self) -> bool:
        """Whether it is no longer sold."""
        return self.retired_at is not None

    @property
    def low(self) -> bool:
        """Whether a coordinator should restock it (a retired item never needs it)."""
        return not self.retired and self.stock <= self.low_stock

    def offered_at(self, site: str, machine: str) -> bool:
        """Whether a machine's page offers it (an item tied to no machine is offered everywhere)."""
        if self.retired:
            return False
        return not self.machines or (site, machine) in self.machines


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTake:
    """A take as recorded."""

    id: int
    item_id: int
    item: str
    unit: str
    member: str
    site: str | None
    machine: str | None
    quantity: int
    unit_price_cents: int
    vat_bp: int
    net_cents: int
    taken_at: datetime
    recorded_by: str | None
    party_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRestock:
    """Stock counted in."""

    id: int
    item_id: int
    quantity: int
    restocked_at: datetime
    recorded_by: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewItem:
    """An item to add to the catalogue, or the new terms of one."""

    name: str
    unit: str
    price_cents: int
    vat_bp: int = 0
    low_stock: int = 0
    machines: tuple[tuple[str, str], ...] = ()


class ConsumableStore(StoreBase):
    """The consumables catalogue, its stock, and what members took."""

    def add_item(self, item: NewItem, *, stock: int = 0, by: str | None = None) -> StoredItem:
        """Add an item; an opening stock is recorded as its first restock."""
        _check_item(item)
        now = self._clock()
        with self._transaction("item") as db:
            if db.scalar(select(ConsumableItemRow.id).where(ConsumableItemRow.name == item.name)):
                raise BillingInputError("name", f"an item named {item.name!r} exists already")
            row = ConsumableItemRow(
                name=item.name,
                unit=item.unit,
                price_cents=item.price_cents,
                vat_bp=item.vat_bp,
                stock=0,
                low_stock=item.low_stock,
                created_at=now,
                machines=[ConsumableMachineRow(site=s, machine=m) for s, m in set(item.machines)],
            )
            db.add(row)
            db.flush()
            if stock:
                _restock(db, row.id, stock, now, by)
                db.refresh(row)
            return _item(row)

    def update_item(self, item_id: int, item: NewItem) -> StoredItem:
        """Change an item's name, unit, price, VAT, threshold or machines; takes keep theirs."""
        _check_item(item)
        with self._transaction("item") as db:
            row = _item_row(db, item_id)
            clash = db.scalar(
                select(ConsumableItemRow.id).where(
                    ConsumableItemRow.name == item.name, ConsumableItemRow.id != item_id
                )
            )
            if clash is not None:
                raise BillingInputError("name", f"an item named {item.name!r} exists already")
            row.name, row.unit, row.price_cents = item.name, item.unit, item.price_cents
            row.vat_bp, row.low_stock = item.vat_bp, item.low_stock
            row.machines = [ConsumableMachineRow(site=s, machine=m) for s, m in set(item.machines)]
            db.flush()
            return _item(row)

    def items(
        self, *, site: str | None = None, machine: str | None = None, retired: bool = True
    ) -> list[StoredItem]:
        """The catalogue by name (`retired`: with the retired items); with a machine, only what
        its page offers."""
        with self._transaction("read items") as db:
            found = [_item(row) for row in db.scalars(_items_query())]
        if site is not None and machine is not None:
            found = [item for item in found if item.offered_at(site, machine)]
        if not retired:
            found = [item for item in found if not item.retired]
        return found

    def retire_item(self, item_id: int, *, retired: bool = True) -> StoredItem:
        """Stop selling an item (or sell it again); its takes stay on statements and exports."""
        with self._transaction("item") as db:
            row = _item_row(db, item_id)
            if retired and row.retired_at is None:
                row.retired_at = self._clock()
            elif not retired:
                row.retired_at = None
            db.flush()
            return _item(row)

    def item(self, item_id: int) -> StoredItem | None:
        """One item; None if there is none."""
        with self._transaction(f"read item {item_id}") as db:
            row = db.get(ConsumableItemRow, item_id)
            return None if row is None else _item(row)

    def low_stock(self) -> list[StoredItem]:
        """Items at or below their low-stock threshold, by name."""
        return [item for item in self.items() if item.low]

    def take(
        self,
        item_id: int,
        *,
        member: str,
        quantity: int,
        site: str | None = None,
        machine: str | None = None,
        by: str | None = None,
        party: int | None = None,
        taken_at: datetime | None = None,
        tz: ZoneInfo | None = None,
    ) -> StoredTake:
        """Record what a member took, priced now, and count it off stock; more than is in stock,
        a retired item, or one the machine does not offer, is refused with the reason.

        `party`: one of the member's billing parties (none: her default). `taken_at`: when she
        took it, if earlier, in a month (local to `tz`) with no issued statement yet.
        """
        _check_quantity(quantity)
        now = self._clock()
        when = now if taken_at is None else _checked_past(taken_at, now)
        with self._transaction("take") as db:
            row = _item_row(db, item_id)
            item = _item(row)
            if item.retired:
                raise BillingInputError("item", f"{item.name} is retired")
            if site is not None and machine is not None and not item.offered_at(site, machine):
                raise BillingInputError("item", f"{item.name} is not offered at {machine}")
            if party is not None:
                _check_party(db, party, member)
            if taken_at is not None:
                month = Month.of((when.astimezone(tz) if tz is not None else when).date())
                if issued_count(db, month):
                    raise MonthClosedError(
                        f"{month} has issued statements: a take for it needs a credit note"
                        " or goes on the open month"
                    )
            counted = db.execute(
                update(ConsumableItemRow)
                .where(ConsumableItemRow.id == item_id, ConsumableItemRow.stock >= quantity)
                .values(stock=ConsumableItemRow.stock - quantity)
            )
            if cast(Any, counted).rowcount != 1:
                raise BillingInputError(
                    "quantity",
                    f"only {row.stock} {row.unit} of {row.name} in stock, {quantity} asked",
                )
            take = ConsumableTakeRow(
                item_id=item_id,
                member=member,
                site=site,
                machine=machine,
                item_name=item.name,
                unit=item.unit,
                quantity=quantity,
                unit_price_cents=item.price_cents,
                vat_bp=item.vat_bp,
                net_cents=priced(quantity, item.price_cents),
                taken_at=when,
                recorded_by=by,
                party_id=party,
            )
            db.add(take)
            db.flush()
            return _take(take)

    def restock(self, item_id: int, quantity: int, *, by: str | None = None) -> StoredItem:
        """Count stock in; the item as it stands after."""
        _check_quantity(quantity)
        with self._transaction("restock") as db:
            _item_row(db, item_id)
            _restock(db, item_id, quantity, self._clock(), by)
            row = _item_row(db, item_id)
            db.refresh(row)
            return _item(row)

    def takes(
        self,
        *,
        member: str | None = None,
        item_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 500,
    ) -> list[StoredTake]:
        """Takes, newest first: of a member, of an item, in a span."""
        query = select(ConsumableTakeRow)
        if member is not None:
            query = query.where(ConsumableTakeRow.member == member)
        if item_id is not None:
            query = query.where(ConsumableTakeRow.item_id == item_id)
        if since is not None:
            query = query.where(ConsumableTakeRow.taken_at >= since)
        if until is not None:
            query = query.where(ConsumableTakeRow.taken_at < until)
        query = query.order_by(ConsumableTakeRow.taken_at.desc(), ConsumableTakeRow.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._transaction("read takes") as db:
            return [_take(row) for row in db.scalars(query)]

    def restocks(self, item_id: int | None = None) -> list[StoredRestock]:
        """Restocks, oldest first (of one item, or all)."""
        query = select(ConsumableRestockRow).order_by(ConsumableRestockRow.id)
        if item_id is not None:
            query = query.where(ConsumableRestockRow.item_id == item_id)
        with self._transaction("read restocks") as db:
            return [
                StoredRestock(
                    id=row.id,
                    item_id=row.item_id,
                    quantity=row.quantity,
                    restocked_at=row.restocked_at,
                    recorded_by=row.recorded_by,
                )
                for row in db.scalars(query)
            ]

    def month_takes(self, month: Month, tz: ZoneInfo) -> list[ConsumableTake]:
        """What was taken in a local month, as billing reads it."""
        with self._transaction(f"read takes of {month}") as db:
            return takes_in(db, month, tz)


def takes_in(db: Session, month: Month, tz: ZoneInfo) -> list[ConsumableTake]:
    """What was taken in a local month, oldest first, as billing reads it."""
    window = MonthWindow(month, tz)
    query = (
        select(ConsumableTakeRow)
        .where(ConsumableTakeRow.taken_at >= window.start, ConsumableTakeRow.taken_at < window.end)
        .order_by(ConsumableTakeRow.taken_at, ConsumableTakeRow.id)
    )
    return [
        ConsumableTake(
            id=take.id,
            member=take.member,
            item=take.item_name,
            unit=take.unit,
            quantity=take.quantity,
            unit_price_cents=take.unit_price_cents,
            vat_bp=take.vat_bp,
            day=take.taken_at.astimezone(tz).date(),
            site=take.site,
            machine=take.machine,
            party=take.party_id,
        )
        for take in db.scalars(query)
    ]


def _check_item(item: NewItem) -> None:
    if not item.name.strip():
        raise BillingInputError("name", "must not be empty")
    if not item.unit.strip():
        raise BillingInputError("unit", "must not be empty")
    if item.price_cents < 0:
        raise BillingInputError("price_cents", "must not be negative")
    if not 0 <= item.vat_bp <= 10_000:
        raise BillingInputError("vat_bp", "must be between 0 and 10000")
    if item.low_stock < 0:
        raise BillingInputError("low_stock", "must not be negative")


def _checked_past(taken_at: datetime, now: datetime) -> datetime:
    if taken_at.tzinfo is None:
        raise BillingInputError("taken_at", "must carry its time zone")
    if taken_at > now:
        raise BillingInputError("taken_at", "must not be in the future")
    return taken_at.astimezone(UTC)


def _check_party(db: Session, party: int, member: str) -> None:
    row = db.get(BillingPartyRow, party)
    if row is None or row.member != member:
        raise BillingInputError("party", f"party {party} is not one of {member}'s")


def _check_quantity(quantity: int) -> None:
    if not 0 < quantity <= MAX_QUANTITY:
        raise BillingInputError("quantity", f"must be between 1 and {MAX_QUANTITY}")


def _items_query() -> Any:
    return select(ConsumableItemRow).order_by(ConsumableItemRow.name)


def _item_row(db: Session, item_id: int) -> ConsumableItemRow:
    row = db.get(ConsumableItemRow, item_id)
    if row is None:
        raise BillingInputError("item", f"there is no item {item_id}")
    return row


def _restock(db: Session, item_id: int, quantity: int, now: datetime, by: str | None) -> None:
    db.add(
        ConsumableRestockRow(item_id=item_id, quantity=quantity, restocked_at=now, recorded_by=by)
    )
    db.execute(
        update(ConsumableItemRow)
        .where(ConsumableItemRow.id == item_id)
        .values(stock=ConsumableItemRow.stock + quantity)
    )


def _item(row: ConsumableItemRow) -> StoredItem:
    return StoredItem(
        id=row.id,
        name=row.name,
        unit=row.unit,
        price_cents=row.price_cents,
        vat_bp=row.vat_bp,
        stock=row.stock,
        low_stock=row.low_stock,
        machines=tuple(sorted((m.site, m.machine) for m in row.machines)),
        retired_at=row.retired_at,
    )


def _take(row: ConsumableTakeRow) -> StoredTake:
    return StoredTake(
        id=row.id,
        item_id=row.item_id,
        item=row.item_name,
        unit=row.unit,
        member=row.member,
        site=row.site,
        machine=row.machine,
        quantity=row.quantity,
        unit_price_cents=row.unit_price_cents,
        vat_bp=row.vat_bp,
        net_cents=row.net_cents,
        taken_at=row.taken_at,
        recorded_by=row.recorded_by,
        party_id=row.party_id,
    )


__all__ = ["ConsumableStore", "NewItem", "StoredItem", "StoredRestock", "StoredTake"]
