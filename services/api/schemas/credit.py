"""Members' credit and packs: amounts in integer cents, quantities in the meter's base units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.api.schemas.billing import Percent
from services.api.schemas.common import MAX_ROW_ID, Id, Label, Name

TopUpCents = Annotated[int, Field(ge=1, le=10_000_000)]
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


class TopUpCreate(BaseModel):
    """Money put on a member's credit, recorded by staff: how much and why."""

    model_config = ConfigDict(extra="forbid")

    amount_cents: TopUpCents
    note: Label = ""


class TakeBackCreate(BaseModel):
    """Credit recorded in error taken back: how much and why (the reason is required)."""

    model_config = ConfigDict(extra="forbid")

    amount_cents: TopUpCents
    note: Name


class PaymentToCredit(BaseModel):
    """A waiting bank credit put on a member's credit."""

    model_config = ConfigDict(extra="forbid")

    member: Id


class MovementPublic(BaseModel):
    """One movement of a member's credit, with the balance after it."""

    member: str
    id: int
    kind: str
    amount_cents: int
    balance_after_cents: int
    at: datetime
    by: str | None
    note: str
    payment_id: int | None
    statement_id: int | None


class PackProductCreate(BaseModel):
    """A pack put on sale: running hours or kWh, its price and VAT, valid for some days."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    meter: Literal["running_minutes", "kwh"]
    # Base units: running milliseconds, or milliwatt-hours.
    quantity: Annotated[int, Field(ge=1, le=10**12)]
    price_cents: Annotated[int, Field(ge=0, le=10**9)]
    vat: Percent = "0"
    valid_days: Annotated[int, Field(ge=1, le=3660)]
    site: Id | None = None
    machine: Id | None = None


class PackProductUpdate(BaseModel):
    """What changes of a pack on sale, for the packs sold from now on; at least one field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    price_cents: Annotated[int, Field(ge=0, le=10**9)] | None = None
    valid_days: Annotated[int, Field(ge=1, le=3660)] | None = None

    @model_validator(mode="after")
    def _something(self) -> PackProductUpdate:
        if self.name is None and self.price_cents is None and self.valid_days is None:
            raise ValueError("give the name, price_cents or valid_days to change")
        return self


class PackProductPublic(BaseModel):
    """A pack of the catalogue; `retired_at` set once it is off sale."""

    id: int
    name: str
    meter: str
    quantity: int
    price_cents: int
    vat_bp: int
    valid_days: int
    site: str | None
    machine: str | None
    retired_at: datetime | None = None


class PackBuy(BaseModel):
    """A pack sold to a member now."""

    model_config = ConfigDict(extra="forbid")

    product_id: RowId


class PackPublic(BaseModel):
    """A pack a member bought, and what is left of it."""

    id: int
    member: str
    name: str
    meter: str
    quantity: int
    left: int
    price_cents: int
    vat_bp: int
    bought_at: datetime
    valid_until: datetime
    site: str | None
    machine: str | None


class CreditPublic(BaseModel):
    """A member's credit: the balance, every movement, and her packs."""

    member: str
    balance_cents: int
    movements: list[MovementPublic]
    packs: list[PackPublic]
