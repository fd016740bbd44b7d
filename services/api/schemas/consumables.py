"""Consumables: the catalogue with its stock, takes and restocks; amounts in cents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.api.schemas.common import Id, Name

Unit = Annotated[str, StringConstraints(min_length=1, max_length=16, strip_whitespace=True)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000)]
Cents = Annotated[int, Field(ge=0, le=100_000_000)]


class ConsumableCreate(BaseModel):
    """An item for the catalogue: its unit, unit price, VAT, opening stock, threshold, machines."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    unit: Unit
    price_cents: Cents
    vat_bp: int = Field(default=0, ge=0, le=10_000)
    low_stock: int = Field(default=0, ge=0, le=1_000_000)
    stock: int = Field(default=0, ge=0, le=1_000_000)
    # The machines whose page offers it; none: every machine.
    machines: list[Id] = Field(default_factory=list, max_length=200)


class ConsumableUpdate(BaseModel):
    """New terms for an item; stock changes only by takes and restocks."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    unit: Unit
    price_cents: Cents
    vat_bp: int = Field(default=0, ge=0, le=10_000)
    low_stock: int = Field(default=0, ge=0, le=1_000_000)
    machines: list[Id] = Field(default_factory=list, max_length=200)


class ConsumablePublic(BaseModel):
    """An item with its stock now, and whether it is low."""

    id: int
    name: str
    unit: str
    price_cents: int
    vat_bp: int
    stock: int
    low_stock: int
    low: bool
    machines: list[str]
    retired: bool = False  # no longer sold: not offered nor taken, kept on past statements


class RestockCreate(BaseModel):
    """Stock counted in."""

    model_config = ConfigDict(extra="forbid")

    quantity: Quantity


class TakeCreate(BaseModel):
    """Some of an item taken: by the member herself, or recorded by staff for a member."""

    model_config = ConfigDict(extra="forbid")

    quantity: Quantity
    machine: Id | None = None
    member: Id | None = None
    # One of the member's billing parties; none: her default party.
    party: int | None = Field(default=None, ge=1, le=2_147_483_647)
    # When she took it, if earlier (staff only): in a month with no issued statement yet.
    taken_at: AwareDatetime | None = None


class TakePublic(BaseModel):
    """A take as recorded, priced when taken."""

    id: int
    item_id: int
    item: str
    unit: str
    member: str
    machine: str | None
    quantity: int
    unit_price_cents: int
    vat_bp: int
    net_cents: int
    taken_at: datetime
    recorded_by: str | None
    party: int | None = None
