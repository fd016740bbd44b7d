"""Billing's side of the ledger, one module per concern, joined in `BillingLedger`.

`catalogue` (tariffs, plans, weights), `pools` (a month's shared bills), `inputs` (what
`bill_month` reads), `statements` (drafts, issue, credit notes), `fiscal` (their FatturaPA
files), `payments` (credits from bank statements), `prepaid` (members' credit and packs),
`consumables` (catalogue, stock, takes),
`numbering` (the gapless yearly series) and `runs` (the run log). Each public method is one
transaction.
"""

from __future__ import annotations

from services.billing.store.base import Clock, Progress, utc_now
from services.billing.store.catalogue import CatalogueStore
from services.billing.store.consumables import (
    ConsumableStore,
    NewItem,
    StoredItem,
    StoredRestock,
    StoredTake,
)
from services.billing.store.fiscal import FiscalStore, StoredDocument
from services.billing.store.inputs import InputsStore
from services.billing.store.payments import ImportResult, PaymentStore, StoredPayment
from services.billing.store.pools import PoolStore
from services.billing.store.prepaid import PrepaidStore
from services.billing.store.runs import RunLog, RunRecord
from services.billing.store.statements import DraftResult, StatementStore
from services.ledger.db import open_existing, open_ledger


class BillingLedger(
    CatalogueStore,
    PoolStore,
    InputsStore,
    StatementStore,
    FiscalStore,
    PaymentStore,
    PrepaidStore,
    ConsumableStore,
    RunLog,
):
    """Reads and writes billing's tables and the ledger rows billing needs, on one engine."""

    @classmethod
    def open(cls, url: str, *, clock: Clock = utc_now, existing: bool = False) -> BillingLedger:
        """Open (and migrate) the ledger at a SQLAlchemy URL; `existing`: never make a new one."""
        return cls(open_existing(url) if existing else open_ledger(url), clock=clock)


__all__ = [
    "BillingLedger",
    "DraftResult",
    "ImportResult",
    "NewItem",
    "Progress",
    "RunRecord",
    "StoredDocument",
    "StoredItem",
    "StoredPayment",
    "StoredRestock",
    "StoredTake",
]
