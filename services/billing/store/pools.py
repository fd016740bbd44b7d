"""Cost pools: a month's shared bills, entered while the month has no issued statement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.billing.allocation import AllocationKey, CostPool
from services.billing.errors import BillingInputError, StatementStateError
from services.billing.models import CostPoolMachineRow, CostPoolRow
from services.billing.months import Month
from services.billing.store.base import StoreBase
from services.billing.store.statements import issued_count


class PoolStore(StoreBase):
    """Adds, removes and reads a month's cost pools."""

    def add_pool(self, month: Month, pool: CostPool, *, source: str = "cli") -> CostPool:
        """Enter a month's shared bill; a second pool of the same name that month is refused."""
        with self._transaction(f"cost pool {pool.name!r}") as db:
            if issued_count(db, month):
                raise StatementStateError(
                    f"{month} is already issued: a new pool needs a credit note or next month"
                )
            exists = db.scalar(
                select(CostPoolRow.id).where(
                    CostPoolRow.month == str(month), CostPoolRow.name == pool.name
                )
            )
            if exists is not None:
                raise BillingInputError("name", f"{month} already has a pool named {pool.name!r}")
            row = pool_row(month, pool, source, self._clock())
            db.add(row)
            db.flush()
            return pool_of(row)

    def remove_pool(self, month: Month, name: str) -> None:
        """Take back a pool entered by mistake, while the month has no issued statement."""
        with self._transaction(f"remove cost pool {name!r}") as db:
            if issued_count(db, month):
                raise StatementStateError(f"{month} is already issued")
            row = db.scalar(
                select(CostPoolRow).where(CostPoolRow.month == str(month), CostPoolRow.name == name)
            )
            if row is None:
                raise BillingInputError("name", f"{month} has no pool named {name!r}")
            db.delete(row)

    def pools(self, month: Month) -> list[CostPool]:
        """A month's cost pools, in the order they were entered."""
        query = select(CostPoolRow).where(CostPoolRow.month == str(month)).order_by(CostPoolRow.id)
        with self._transaction("read cost pools") as db:
            return [pool_of(row) for row in db.scalars(query)]


def pool_row(month: Month, pool: CostPool, source: str, now: datetime) -> CostPoolRow:
    """A cost pool as a row to store."""
    return CostPoolRow(
        month=str(month),
        name=pool.name,
        total_cents=pool.total_cents,
        key=pool.key.value,
        weight_set=pool.weight_set,
        billed_quantity=pool.billed_quantity,
        remainder_key=pool.remainder_key.value if pool.remainder_key else None,
        remainder_weight_set=pool.remainder_weight_set,
        vat_bp=pool.vat_bp,
        source=source,
        created_at=now,
        machines=[
            CostPoolMachineRow(site=site, machine=machine) for site, machine in pool.machines
        ],
    )


def pool_of(row: CostPoolRow) -> CostPool:
    """A stored cost pool as the engine reads it."""
    return CostPool(
        id=row.id,
        name=row.name,
        total_cents=row.total_cents,
        key=AllocationKey(row.key),
        machines=tuple(sorted((m.site, m.machine) for m in row.machines)),
        weight_set=row.weight_set,
        billed_quantity=row.billed_quantity,
        remainder_key=AllocationKey(row.remainder_key) if row.remainder_key else None,
        remainder_weight_set=row.remainder_weight_set,
        vat_bp=row.vat_bp,
    )
