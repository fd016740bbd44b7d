"""Tariffs, cost pools and statements: amounts written in euros, kept in cents and micro-euros."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.api.schemas.common import Day, Id, Name
from services.api.schemas.common import MonthText as MonthText  # used by the routes

# A decimal written the way people write it: `0.35`, `1234,50`.
Amount = Annotated[str, StringConstraints(pattern=r"^\d{1,12}([.,]\d{1,6})?$")]
Percent = Annotated[str, StringConstraints(pattern=r"^\d{1,3}([.,]\d{1,2})?$")]
KeyName = Annotated[
    str, StringConstraints(pattern=r"^(kwh|running_hours|equal|member_days|weights)$")
]


class TariffBase(BaseModel):
    """Prices from a day on, for a machine of this site (or all), for a plan (or all)."""

    valid_from: Day
    machine: Id | None = None
    plan: Id | None = None
    per_running_minute: Amount = "0"
    per_unlocked_minute: Amount = "0"
    per_kwh: Amount = "0"
    minimum: Amount = "0"
    vat: Percent = "0"
    booking_fee: Amount = "0"
    no_show: Amount = "0"


class TariffCreate(TariffBase):
    """A new tariff row; prices in euros net of VAT, VAT in percent."""

    model_config = ConfigDict(extra="forbid")


class TariffPublic(TariffBase):
    """A tariff as billing holds it (amounts written out by the api, not checked again)."""

    per_running_minute: str
    per_unlocked_minute: str
    per_kwh: str
    minimum: str
    vat: str
    booking_fee: str
    no_show: str


class CostPoolBase(BaseModel):
    """A month's shared bill and its allocation key."""

    month: MonthText
    name: Name
    total: Amount
    key: KeyName
    machines: list[Id] = []
    weight_set: Id | None = None
    billed_quantity: Amount | None = None
    remainder_key: KeyName | None = None
    remainder_weight_set: Id | None = None
    vat: Percent = "0"


class CostPoolCreate(CostPoolBase):
    """A new cost pool; `billed_quantity` in the key's unit (kWh, hours) as on the bill."""

    model_config = ConfigDict(extra="forbid")


class CostPoolPublic(CostPoolBase):
    """A cost pool as billing holds it (amounts written out by the api, not checked again)."""

    id: int | None
    total: str
    billed_quantity: str | None
    vat: str


class MonthRequest(BaseModel):
    """Which month to act on."""

    model_config = ConfigDict(extra="forbid")

    month: MonthText


class DraftsPublic(BaseModel):
    """What making a month's drafts did."""

    made: int
    replaced: int
    already_issued: int
    differ_from_issued: list[str]
    # Later months whose drafts drew from the same packs, made again after this one.
    later_drafts: list[str] = []


class IssuedPublic(BaseModel):
    """The numbers given when a month was issued."""

    numbers: list[str]


class CreditNoteCreate(BaseModel):
    """Credit an issued statement: all of it, or a net amount at a VAT rate."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    net: Amount | None = None
    vat: Percent | None = None


class StatementPublic(BaseModel):
    """A statement or credit note; amounts in cents."""

    id: int
    kind: str
    status: str
    member: str
    member_name: str
    month: str
    # The billing party it is made out to (its id and label when drafted); none without one.
    party_id: int | None = None
    party_label: str | None = None
    number: str | None
    credits_number: str | None
    reason: str | None
    currency: str
    net_cents: int
    vat_cents: int
    total_cents: int
    made_at: datetime
    issued_at: datetime | None
    lines: int
    # An issued statement's payments: paid so far, due day, and open, paid, part-paid or overdue.
    paid_cents: int | None = None
    due: date | None = None
    payment_state: str | None = None
    # An issued statement paid from credit: what credit paid, what is still owed, credit left.
    credit_drawn_cents: int | None = None
    credit_owed_cents: int | None = None
    credit_left_cents: int | None = None
