"""The workshop's fiscal profile as the api shows it: read from the billing settings, never set."""

from __future__ import annotations

from pydantic import BaseModel

from services.fiscal import BillingMode
from services.fiscal import Workshop as FiscalWorkshop


class WorkshopFiscalPublic(BaseModel):
    """The profile (None: the settings have none), its mode and what fattura mode still lacks."""

    profile: FiscalWorkshop | None
    billing_mode: BillingMode | None
    complete_for_fattura: bool
    missing: list[str]
