"""Billing: exact monthly statements from machine time, plans and the workshop's shared bills.

`engine.bill_month` is pure (rows in, statements out); `store.BillingLedger` keeps billing's
tables in the ledger; `service.Billing` runs a month's steps; `scheduler.StatementScheduler`
runs them by itself. The rules (rounding, splitting, numbering) are written in RULES.md.

The names below are imported from their modules when first asked for: a process that needs one
small part (ingest needs the default time zone of `months`) does not load PDF rendering, mail
and the rest of billing with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_HOMES = {
    "AllocationKey": "allocation",
    "Allowance": "tariffs",
    "Billing": "service",
    "BillingError": "errors",
    "BillingInputError": "errors",
    "BillingLedger": "store",
    "BillingSettings": "settings",
    "CostPool": "allocation",
    "DeliveryError": "errors",
    "DraftResult": "store",
    "FiscalContext": "fiscal_print",
    "MemberAccount": "engine",
    "MemberStatement": "engine",
    "Meter": "tariffs",
    "Month": "months",
    "MonthInputs": "engine",
    "OriginalDocument": "fiscal_print",
    "Plan": "tariffs",
    "PlanPeriod": "tariffs",
    "PoolShare": "allocation",
    "RenderError": "errors",
    "SendResult": "service",
    "SettingsError": "errors",
    "StatementKind": "records",
    "StatementScheduler": "scheduler",
    "StatementStateError": "errors",
    "StatementStatus": "records",
    "StoredStatement": "records",
    "Tariff": "tariffs",
    "TariffBook": "tariffs",
    "TickReport": "scheduler",
    "UnallocatablePoolError": "errors",
    "bill_month": "engine",
    "largest_remainder": "allocation",
    "load_settings": "settings",
}


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


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
