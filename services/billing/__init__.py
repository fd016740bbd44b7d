"""Billing: exact monthly statements from machine time, plans and the workshop's shared bills.

`engine.bill_month` is pure (rows in, statements out); `store.BillingLedger` keeps billing's
tables in the ledger; `service.Billing` runs a month's steps; `scheduler.StatementScheduler`
runs them by itself. The rules (rounding, splitting, numbering) are written in RULES.md.
"""

from services.billing.allocation import AllocationKey, CostPool, PoolShare, largest_remainder
from services.billing.engine import MemberAccount, MemberStatement, MonthInputs, bill_month
from services.billing.errors import (
    BillingError,
    BillingInputError,
    DeliveryError,
    RenderError,
    SettingsError,
    StatementStateError,
    UnallocatablePoolError,
)
from services.billing.fiscal_print import FiscalContext, OriginalDocument
from services.billing.months import Month
from services.billing.records import StatementKind, StatementStatus, StoredStatement
from services.billing.scheduler import StatementScheduler, TickReport
from services.billing.service import Billing, SendResult
from services.billing.settings import BillingSettings, load_settings
from services.billing.store import BillingLedger, DraftResult
from services.billing.tariffs import Allowance, Meter, Plan, PlanPeriod, Tariff, TariffBook

__all__ = [
    "AllocationKey",
    "Allowance",
    "Billing",
    "BillingError",
    "BillingInputError",
    "BillingLedger",
    "BillingSettings",
    "CostPool",
    "DeliveryError",
    "DraftResult",
    "FiscalContext",
    "MemberAccount",
    "MemberStatement",
    "Meter",
    "Month",
    "MonthInputs",
    "OriginalDocument",
    "Plan",
    "PlanPeriod",
    "PoolShare",
    "RenderError",
    "SendResult",
    "SettingsError",
    "StatementKind",
    "StatementScheduler",
    "StatementStateError",
    "StatementStatus",
    "StoredStatement",
    "Tariff",
    "TariffBook",
    "TickReport",
    "UnallocatablePoolError",
    "bill_month",
    "largest_remainder",
    "load_settings",
]
