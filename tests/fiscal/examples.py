"""Valid Italian identifiers and the profiles and documents the fiscal tests start from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from services.fiscal.document import DocumentLine, DocumentType, FiscalDocument, progressivo
from services.fiscal.profiles import (
    Address,
    BillingMode,
    BillingParty,
    PartyKind,
    Rea,
    Workshop,
)

# Identifiers of the real forms whose check digits hold; PERSON_CF is the textbook example.
VAT_NUMBER = "12345670017"
OTHER_VAT_NUMBER = "02727250017"
PERSON_CF = "RSSMRA85T10A562S"
PERSON_CF_OMOCODIA = "RSSMRA85T1LA562V"  # the same person, a digit replaced by its letter
ORGANISATION_CF = "80213330584"  # 11 digits: an association's codice fiscale
IBAN = "IT60X0542811101000000123456"
RECIPIENT_CODE = "A1B2C3D"
PEC = "amministrazione@pec.example.it"


def address(**changes: Any) -> Address:
    """A registered address in Turin."""
    fields: dict[str, Any] = {
        "street": "Via della Meccanica",
        "civic_number": "12/B",
        "cap": "10121",
        "comune": "Torino",
        "provincia": "TO",
    }
    return Address.model_validate(fields | changes)


def workshop(**changes: Any) -> Workshop:
    """A cooperative workshop that issues fatture, with its REA entry."""
    fields: dict[str, Any] = {
        "legal_name": "Officina Condivisa Soc. Coop.",
        "vat_number": VAT_NUMBER,
        "fiscal_code": VAT_NUMBER,
        "address": address(),
        "rea": Rea(office="TO", number="1234567", share_capital_cents=1_000_000),
        "iban": IBAN,
        "payment_terms_days": 30,
        "billing_mode": BillingMode.FATTURA,
    }
    return Workshop.model_validate(fields | changes)


def person(**changes: Any) -> BillingParty:
    """A member billed as a private person (no P.IVA: the tax drawer delivers it)."""
    fields: dict[str, Any] = {
        "kind": PartyKind.PERSON,
        "first_name": "Mario",
        "last_name": "Rossi",
        "fiscal_code": PERSON_CF,
        "address": address(street="Corso Francia", civic_number="3"),
    }
    return BillingParty.model_validate(fields | changes)


def company(**changes: Any) -> BillingParty:
    """A member's company, reached by its SdI recipient code."""
    fields: dict[str, Any] = {
        "kind": PartyKind.ORGANISATION,
        "name": "Rossi Prototipi S.r.l.",
        "vat_number": OTHER_VAT_NUMBER,
        "fiscal_code": OTHER_VAT_NUMBER,
        "address": address(street="Via Nizza", civic_number="40"),
        "recipient_code": RECIPIENT_CODE,
    }
    return BillingParty.model_validate(fields | changes)


def line(
    total_cents: int, rate: str = "22", natura: str | None = None, **changes: Any
) -> DocumentLine:
    """One line of quantity one at the given price, rate and Natura."""
    fields: dict[str, Any] = {
        "description": "Tempo macchina: fresatrice CNC",
        "quantity": Decimal(1),
        "unit": "h",
        "unit_price_cents": total_cents,
        "total_cents": total_cents,
        "vat_rate": Decimal(rate),
        "natura": natura,
    }
    return DocumentLine.model_validate(fields | changes)


def statement(*lines: DocumentLine, **changes: Any) -> FiscalDocument:
    """A TD01 statement of November 2026 for the member's company."""
    fields: dict[str, Any] = {
        "type": DocumentType.STATEMENT,
        "number": "2026/17",
        "issue_date": date(2026, 11, 30),
        "progressivo": progressivo(17),
        "workshop": workshop(),
        "party": company(),
        "lines": lines or (line(10_000),),
    }
    return FiscalDocument.model_validate(fields | changes)
