"""What a statement's PDF needs to be a document a treasurer files: both parties, Natura, payment.

The fiscal profiles are `services.fiscal`'s; this module only gathers them for one statement
(`FiscalContext`) and derives what the page prints from them: the due date, the structured
creditor reference a bank statement is matched by, and the SEPA transfer the QR code asks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from services.billing.records import Line, LineKind, StatementKind, StatementStatus, StoredStatement
from services.fiscal import BillingParty, Natura, TransferRequest, Workshop
from services.fiscal.profiles import Address

# A 0 % line needs the reason it bears no VAT, and billing keeps none per line. The one case
# officina knows of is the association's: fees its members pay within its statutory purpose are
# outside the VAT field (art. 4 c. 4 DPR 633/72, Natura N2.2), whatever the line is for. A
# workshop whose 0 % lines are exempt for another reason passes its own mapping.
DEFAULT_NATURA: Mapping[LineKind, Natura] = MappingProxyType(
    {kind: Natura.N2_2 for kind in LineKind}
)

# EPC069-12 caps the beneficiary's name at 70 characters; a legal name may have 80.
_BENEFICIARY_LENGTH = 70


@dataclass(frozen=True, kw_only=True)
class OriginalDocument:
    """The document a credit note corrects: its number and its issue date."""

    number: str
    issued: date


@dataclass(frozen=True, kw_only=True)
class FiscalContext:
    """Who issues a statement and who it is for, fiscally, and why its 0 % lines bear no VAT."""

    workshop: Workshop
    party: BillingParty
    original: OriginalDocument | None = None  # a credit note's original
    natura: Mapping[LineKind, Natura] = field(default_factory=lambda: DEFAULT_NATURA)

    def natura_of(self, line: Line) -> Natura | None:
        """The Natura of a line without VAT; None for a line with VAT."""
        if line.vat_bp:
            return None
        return self.natura.get(line.kind, DEFAULT_NATURA[line.kind])


def issue_day(statement: StoredStatement, tz: ZoneInfo) -> date | None:
    """The local day a statement was issued (None for a draft)."""
    if statement.issued_at is None:
        return None
    return statement.issued_at.astimezone(tz).date()


def due_date(statement: StoredStatement, workshop: Workshop, tz: ZoneInfo) -> date | None:
    """The day payment is due: the issue day plus the workshop's payment terms."""
    issued = issue_day(statement, tz)
    if issued is None:
        return None
    return issued + timedelta(days=workshop.payment_terms_days)


def creditor_reference(number: str) -> str:
    """The ISO 11649 creditor reference of a statement number: `2026/0001` is `RF31 2026 0001`.

    The number's letters and digits, with the two check digits ISO 7064 mod 97-10 gives; a bank
    statement that carries it is matched to the statement without reading free text.
    """
    body = "".join(char for char in number if char.isalnum()).upper()
    check = mod_97_10.calc_check_digits(body + "RF")
    return str(iso11649.compact(f"RF{check}{body}"))


def transfer_request(statement: StoredStatement, workshop: Workshop) -> TransferRequest | None:
    """The SEPA transfer that pays an issued statement, or None when nothing is to be paid."""
    payable = (
        statement.kind is StatementKind.STATEMENT
        and statement.status is StatementStatus.ISSUED
        and statement.number is not None
        and statement.total_cents > 0
        and statement.currency == "EUR"
    )
    if not payable or statement.number is None:
        return None
    return TransferRequest(
        name=workshop.legal_name[:_BENEFICIARY_LENGTH],
        iban=workshop.iban,
        amount_cents=statement.total_cents,
        reference=creditor_reference(statement.number),
    )


def address_lines(address: Address) -> list[str]:
    """An Italian address on two lines: `Via Roma 1` and `40121 Bologna (BO)`."""
    street = " ".join(part for part in (address.street, address.civic_number) if part)
    place = f"{address.cap} {address.comune}"
    if address.provincia:
        place = f"{place} ({address.provincia})"
    return [street, place]


def iban_groups(iban: str) -> str:
    """An IBAN in groups of four, as it is printed."""
    return " ".join(iban[at : at + 4] for at in range(0, len(iban), 4))
