"""A fiscal document (TD01 statement, TD04 credit note), its VAT summaries and its total.

Money is integer cents in and out. VAT is computed once per summary (one per rate and Natura,
as `DatiRiepilogo` wants), not per line: `Imposta = Imponibile × Aliquota / 100`, rounded to the
cent half up (ROUND_HALF_UP, halves away from zero). The document's total is the sum of the
summaries' taxable amounts and VAT; stamp duty is in it only when the workshop charges it to the
party, and then as a line of its own (see README.md).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    model_validator,
)

from services.fiscal.errors import FiscalInputError
from services.fiscal.natura import STAMP_DUTY_NATURE, Natura
from services.fiscal.profiles import (
    BillingMode,
    BillingParty,
    FrozenModel,
    LatinText,
    Workshop,
)
from services.fiscal.wording import legal_reference

STAMP_DUTY_CENTS = 200
STAMP_DUTY_THRESHOLD_CENTS = 7747  # due when the amounts without VAT exceed 77.47 EUR
STAMP_DUTY_DESCRIPTION = "Imposta di bollo"
STAMP_DUTY_UNIT = "n."
PROGRESSIVO_LEN = 5
MAX_LINE_CENTS = 10**12 - 1  # ten billion euros
MAX_AMOUNT_CENTS = 10**13 - 1  # the schema's amounts have at most 11 digits before the point

_ONE = Decimal(1)
_NUMBER = re.compile(r"[A-Za-z0-9/\-_.]{0,20}")
_PROGRESSIVO = re.compile(r"[A-Z0-9]{5}")
_DIGITS36 = string.digits + string.ascii_uppercase


class DocumentType(StrEnum):
    """`TipoDocumento`: a statement is a fattura (TD01), a credit note a nota di credito (TD04)."""

    STATEMENT = "TD01"
    CREDIT_NOTE = "TD04"


def _not_float(value: object) -> object:
    # A float has already lost the cent it was meant to carry: give a Decimal or a string.
    if isinstance(value, float):
        raise ValueError(f"{value!r} is a float; give a Decimal or a string")
    return value


def _quantity(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{value} is not a positive quantity")
    if value != value.quantize(Decimal("1E-8")) or value >= Decimal("1E12"):
        raise ValueError(f"{value} has more than 8 decimals or 12 digits")
    return value


def _rate(value: Decimal) -> Decimal:
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError(f"{value} is not a percentage from 0 to 100")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{value} has more than 2 decimals")
    return value


def _number(value: str) -> str:
    # The specifications ask for at least one digit in a document's number.
    if not _NUMBER.fullmatch(value) or not any(ch.isdigit() for ch in value):
        raise ValueError(f"{value!r} is not a document number (up to 20 characters, a digit)")
    return value


def _progressivo(value: str) -> str:
    if not _PROGRESSIVO.fullmatch(value):
        raise ValueError(f"{value!r} is not a progressivo (five capital letters or digits)")
    return value


Quantity = Annotated[Decimal, BeforeValidator(_not_float), AfterValidator(_quantity)]
VatRate = Annotated[Decimal, BeforeValidator(_not_float), AfterValidator(_rate)]
# Integer cents only (no float, no text); a line stays well inside the schema's 11 digits.
LineCents = Annotated[int, Strict(), Field(ge=-MAX_LINE_CENTS, le=MAX_LINE_CENTS)]
DocumentNumber = Annotated[str, AfterValidator(_number)]
Progressivo = Annotated[str, AfterValidator(_progressivo)]


def progressivo(sequence: int) -> str:
    """The five-character file progressivo of the n-th transmission (base 36, from 00001)."""
    if not 0 < sequence < 36**PROGRESSIVO_LEN:
        raise FiscalInputError("sequence", f"{sequence} is outside 1..{36**PROGRESSIVO_LEN - 1}")
    digits = []
    while sequence:
        sequence, digit = divmod(sequence, 36)
        digits.append(_DIGITS36[digit])
    return "".join(reversed(digits)).rjust(PROGRESSIVO_LEN, "0")


def vat_cents(taxable_cents: int, rate: Decimal) -> int:
    """VAT on a summary's taxable amount at a rate in percent, rounded half up to the cent."""
    with localcontext() as context:
        context.prec = 60
        exact = Decimal(taxable_cents) * rate / 100
        return int(exact.quantize(_ONE, rounding=ROUND_HALF_UP))


class DocumentLine(FrozenModel):
    """One line (`DettaglioLinee`): what, how much, at what price, and its VAT or Natura."""

    description: LatinText = Field(min_length=1, max_length=1000)
    quantity: Quantity = Decimal(1)
    unit: LatinText = Field(min_length=1, max_length=10)
    unit_price_cents: LineCents
    total_cents: LineCents
    vat_rate: VatRate
    natura: Natura | None = None
    legal_reference: LatinText | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> DocumentLine:
        if self.vat_rate == 0 and self.natura is None:
            raise FiscalInputError("natura", "a 0 % line needs its Natura code")
        if self.vat_rate != 0 and self.natura is not None:
            raise FiscalInputError("natura", "a line with VAT has no Natura code")
        if self.legal_reference is not None and self.natura is None:
            raise FiscalInputError("legal_reference", "only a 0 % line cites a law")
        # The SdI refuses a total more than a cent from quantity × unit price (check 00423).
        with localcontext() as context:
            context.prec = 60
            off_by = abs(self.quantity * self.unit_price_cents - self.total_cents)
        if off_by > 1:
            raise FiscalInputError(
                "total_cents",
                f"{self.total_cents} is not quantity {self.quantity} × {self.unit_price_cents}",
            )
        return self

    @property
    def reference(self) -> str | None:
        """The law this line's Natura rests on: its own, else the table's default."""
        if self.natura is None:
            return None
        return self.legal_reference or legal_reference(self.natura)


class OriginalDocument(FrozenModel):
    """The document a credit note corrects (`DatiFattureCollegate`)."""

    number: DocumentNumber
    issue_date: date


@dataclass(frozen=True)
class VatSummary:
    """One `DatiRiepilogo`: the lines of one rate and Natura, their taxable amount and VAT."""

    rate: Decimal
    natura: Natura | None
    taxable_cents: int
    vat_cents: int
    legal_reference: str | None


@dataclass(frozen=True)
class Payment:
    """`DatiPagamento`: the whole amount at once (TP02) by bank transfer (MP05)."""

    iban: str
    due_date: date
    amount_cents: int


def vat_summaries(lines: tuple[DocumentLine, ...]) -> tuple[VatSummary, ...]:
    """The lines grouped by (rate, Natura) in order of first appearance, VAT per group."""
    groups: dict[tuple[Decimal, Natura | None], list[DocumentLine]] = {}
    for line in lines:
        groups.setdefault((line.vat_rate, line.natura), []).append(line)
    summaries = []
    for (rate, natura), members in groups.items():
        references = {line.reference for line in members}
        if len(references) > 1:
            raise FiscalInputError(
                "lines",
                f"lines with Natura {natura} cite different laws: {sorted(map(str, references))}",
            )
        taxable = sum(line.total_cents for line in members)
        summaries.append(
            VatSummary(rate, natura, taxable, vat_cents(taxable, rate), references.pop())
        )
    return tuple(summaries)


def stamp_duty_due(lines: tuple[DocumentLine, ...]) -> bool:
    """Whether the amounts without VAT that bear stamp duty exceed 77.47 EUR."""
    untaxed = sum(line.total_cents for line in lines if line.natura in STAMP_DUTY_NATURE)
    return untaxed > STAMP_DUTY_THRESHOLD_CENTS


class FiscalDocument(FrozenModel):
    """A statement or credit note of a workshop in `fattura` mode, ready to be written as XML."""

    type: DocumentType
    number: DocumentNumber
    issue_date: date
    progressivo: Progressivo
    workshop: Workshop
    party: BillingParty
    lines: tuple[DocumentLine, ...] = Field(min_length=1)
    original: OriginalDocument | None = None
    due_date: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FiscalDocument:
        if self.workshop.billing_mode is not BillingMode.FATTURA:
            raise FiscalInputError("workshop.billing_mode", "a rendiconto is not a fiscal document")
        if self.type is DocumentType.CREDIT_NOTE:
            if self.original is None:
                raise FiscalInputError("original", "a credit note names the document it corrects")
            if self.original.issue_date > self.issue_date:
                raise FiscalInputError(
                    "original.issue_date", "the original is dated after the note"
                )
        elif self.original is not None:
            raise FiscalInputError("original", "only a credit note refers to an original")
        if self.due_date is not None and self.due_date < self.issue_date:
            raise FiscalInputError("due_date", "payment falls due before the document's date")
        summaries = vat_summaries(self.all_lines)  # lines citing different laws fail here
        total = sum(s.taxable_cents + s.vat_cents for s in summaries)
        if total < 0:
            raise FiscalInputError("lines", "the lines add up to less than zero: credit them")
        if any(abs(s.taxable_cents) > MAX_AMOUNT_CENTS for s in summaries) or (
            total > MAX_AMOUNT_CENTS
        ):
            raise FiscalInputError("lines", "the amounts do not fit the schema's 11 digits")
        return self

    @property
    def stamp_duty(self) -> bool:
        """Whether the document bears the 2.00 EUR stamp duty (`DatiBollo`)."""
        return stamp_duty_due(self.lines)

    @property
    def all_lines(self) -> tuple[DocumentLine, ...]:
        """The lines as written: the stamp duty last when the party is charged it."""
        if not (self.stamp_duty and self.workshop.stamp_duty_charged_to_party):
            return self.lines
        duty = DocumentLine(
            description=STAMP_DUTY_DESCRIPTION,
            unit=STAMP_DUTY_UNIT,
            unit_price_cents=STAMP_DUTY_CENTS,
            total_cents=STAMP_DUTY_CENTS,
            vat_rate=Decimal(0),
            natura=Natura.N1,
        )
        return (*self.lines, duty)

    @property
    def summaries(self) -> tuple[VatSummary, ...]:
        """One summary per (rate, Natura) of the lines as written."""
        return vat_summaries(self.all_lines)

    @property
    def total_cents(self) -> int:
        """`ImportoTotaleDocumento`: taxable amounts plus VAT of every summary."""
        return sum(s.taxable_cents + s.vat_cents for s in self.summaries)

    @property
    def payment(self) -> Payment | None:
        """Bank transfer of the total to the workshop's IBAN; a credit note asks for none."""
        if self.type is DocumentType.CREDIT_NOTE:
            return None
        due = self.due_date or self.issue_date + timedelta(days=self.workshop.payment_terms_days)
        return Payment(self.workshop.iban, due, self.total_cents)
