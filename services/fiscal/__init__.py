"""Fiscal documents for Italian workshops: profiles, FatturaPA XML, wording and the EPC QR code.

A pure package (no database, no web): `profiles` checks who issues and who pays, `document`
computes a document's VAT summaries and total, `fatturapa` writes it as FPR12 XML, `bundle`
packs a month for an SdI intermediary, `wording` holds the fiscal words of the PDF and `epc`
the transfer QR code. README.md names the FatturaPA element behind every field.
"""

from services.fiscal.bundle import monthly_bundle, stored_bundle
from services.fiscal.document import (
    DocumentLine,
    DocumentType,
    FiscalDocument,
    OriginalDocument,
    Payment,
    VatSummary,
    progressivo,
    stamp_duty_due,
    vat_cents,
    vat_summaries,
)
from services.fiscal.epc import TransferRequest, epc_payload, epc_qr_png, epc_qr_svg
from services.fiscal.errors import FiscalError, FiscalInputError, error_fields
from services.fiscal.fatturapa import fattura_xml, file_name
from services.fiscal.natura import STAMP_DUTY_NATURE, Natura
from services.fiscal.profiles import (
    Address,
    BillingMode,
    BillingParty,
    PartyKind,
    Rea,
    RegimeFiscale,
    Workshop,
)
from services.fiscal.wording import Locale, legal_reference, natura_text

__all__ = [
    "STAMP_DUTY_NATURE",
    "Address",
    "BillingMode",
    "BillingParty",
    "DocumentLine",
    "DocumentType",
    "FiscalDocument",
    "FiscalError",
    "FiscalInputError",
    "Locale",
    "Natura",
    "OriginalDocument",
    "PartyKind",
    "Payment",
    "Rea",
    "RegimeFiscale",
    "TransferRequest",
    "VatSummary",
    "Workshop",
    "epc_payload",
    "epc_qr_png",
    "epc_qr_svg",
    "error_fields",
    "fattura_xml",
    "file_name",
    "legal_reference",
    "monthly_bundle",
    "natura_text",
    "progressivo",
    "stamp_duty_due",
    "stored_bundle",
    "vat_cents",
    "vat_summaries",
]
