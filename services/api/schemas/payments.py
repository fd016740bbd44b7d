"""Payments received: credits from bank files, matched or waiting; amounts in cents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PaymentPublic(BaseModel):
    """A credit the bank reported and, once matched, the statement it paid."""

    id: int
    booked: date
    amount_cents: int
    currency: str
    payer: str
    remittance: str
    creditor_reference: str | None
    statement_id: int | None
    statement_number: str | None
    member: str | None
    matched_by: str | None
    not_ours: bool
    imported_at: datetime


class PaymentImportPublic(BaseModel):
    """What importing a bank file booked."""

    kind: str
    credits: int
    credited_cents: int
    added: int
    matched: int
    already_booked: int


class PaymentAssign(BaseModel):
    """Give a waiting payment to an issued statement, or say it is not the workshop's."""

    model_config = ConfigDict(extra="forbid")

    statement_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    not_ours: bool = False

    @model_validator(mode="after")
    def _one_choice(self) -> Self:
        if (self.statement_id is None) == (not self.not_ours):
            raise ValueError("give either statement_id or not_ours: true")
        return self
