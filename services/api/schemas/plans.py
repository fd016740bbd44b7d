"""Membership plans and who is on which: fees in integer cents, VAT in percent."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.api.schemas.billing import Percent
from services.api.schemas.common import Day, Id

Cents = Annotated[int, Field(ge=0, le=100_000_000_00)]


class PlanSave(BaseModel):
    """A plan's monthly fee (integer cents) and VAT; its included time stays as it is."""

    model_config = ConfigDict(extra="forbid")

    monthly_fee_cents: Cents
    vat: Percent = "0"
    # Its members are let in at the gateways only while their credit lasts.
    requires_credit: bool = False


class PlanPublic(BaseModel):
    """A plan as billing holds it."""

    name: str
    monthly_fee_cents: int
    vat: str
    allowances: int
    requires_credit: bool = False


class MemberPlanSave(BaseModel):
    """A member on a plan (or on none) from a local day on."""

    model_config = ConfigDict(extra="forbid")

    plan: Id | None = None
    valid_from: Day


class MemberPlanPublic(BaseModel):
    """A member's plan from a day on."""

    member: str
    plan: str | None
    valid_from: date
