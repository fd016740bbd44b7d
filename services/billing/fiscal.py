"""An issued statement as a fiscal document: its FatturaPA lines, VAT, Natura and payment.

Billing owns statements, `services.fiscal` owns documents and knows nothing of the ledger; this
module is the one place that joins them, so it lives on billing's side of the import line. It is
pure: the workshop's and the party's fiscal profiles come in as arguments, as do the rules that
billing has no column for (which Natura a 0 % line has, which meter a session is priced by).

Billing computes VAT once per statement and rate, half up, on the net lines at that rate
(RULES.md, rounding point 3); a FatturaPA summary is one per (rate, Natura), rounded once, half
up. Lines with VAT carry no Natura, so their summaries are billing's rates one for one and the
VAT agrees to the cent; 0 % lines carry no VAT whatever their Natura. `fiscal_document` checks
the document's total against the statement's all the same and refuses to return one that
differs. How each line reads (words, quantity, unit, Natura) is `fiscal_lines.py`; the
accountant's register of the same documents is `register.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from services.billing.errors import BillingError, BillingInputError, StatementStateError
from services.billing.fiscal_lines import (
    DEFAULT_RULES,
    LINE_WORDS,
    NO_NAMES,
    MeterOf,
    NaturaOf,
    document_line,
    fiscal_lines,
    running_time,
)
from services.billing.records import StatementKind, StatementStatus, StoredStatement
from services.fiscal.bundle import monthly_bundle
from services.fiscal.document import (
    DocumentType,
    FiscalDocument,
    OriginalDocument,
    progressivo,
    stamp_duty_due,
)
from services.fiscal.profiles import BillingMode, BillingParty, Workshop
from services.fiscal.wording import CREDIT_NOTE_TITLE, MODE_WORDING, Locale

ROME = ZoneInfo("Europe/Rome")


class NotAFiscalDocumentError(BillingError):
    """A statement that has no fiscal document: a rendiconto, or a draft."""


@dataclass(frozen=True)
class StatementWording:
    """The title and fiscal notice printed on a statement."""

    title: str
    notice: str


def statement_wording(
    workshop: Workshop, *, locale: Locale, credit_note: bool = False
) -> StatementWording:
    """What a statement says it is: an invoice's courtesy copy, or a non-fiscal rendiconto."""
    words = MODE_WORDING[workshop.billing_mode]
    title = words.title(locale)
    if credit_note and workshop.billing_mode is BillingMode.FATTURA:
        title = CREDIT_NOTE_TITLE[locale]
    return StatementWording(title, words.notice(locale))


def rendiconto_wording(locale: Locale) -> StatementWording:
    """The title and notice of an association's non-fiscal statement (outside VAT)."""
    words = MODE_WORDING[BillingMode.RENDICONTO]
    return StatementWording(words.title(locale), words.notice(locale))


def issue_date(statement: StoredStatement, tz: ZoneInfo = ROME) -> date:
    """The local day a statement was issued; a draft has none."""
    if statement.status is not StatementStatus.ISSUED or statement.issued_at is None:
        raise NotAFiscalDocumentError(f"statement {statement.id} is a draft: issue it first")
    return statement.issued_at.astimezone(tz).date()


def fiscal_document(
    statement: StoredStatement,
    *,
    workshop: Workshop,
    party: BillingParty,
    progressivo: str,
    original: StoredStatement | None = None,
    natura_of: NaturaOf = DEFAULT_RULES,
    meter_of: MeterOf = running_time,
    machine_names: Mapping[tuple[str, str], str] = NO_NAMES,
    locale: Locale = Locale.IT,
    tz: ZoneInfo = ROME,
) -> FiscalDocument:
    """The FatturaPA document of an issued statement (TD01) or credit note (TD04).

    Its total is the statement's (a credit note's, taken back, as a positive amount) to the
    cent; payment is by transfer to the workshop's IBAN, due after its payment terms.
    """
    if workshop.billing_mode is not BillingMode.FATTURA:
        raise NotAFiscalDocumentError(
            "the workshop bills in rendiconto mode: its statements are not fiscal documents"
            " (rendiconto_wording gives what they say instead)"
        )
    day = issue_date(statement, tz)
    assert statement.number is not None  # an issued statement is numbered
    credit_note = statement.kind is StatementKind.CREDIT_NOTE
    sign = -1 if credit_note else 1
    linked = None
    if credit_note:
        if original is None or original.number != statement.credits_number:
            raise BillingInputError(
                "original", f"{statement.number} credits {statement.credits_number}: give that one"
            )
        linked = OriginalDocument(number=original.number, issue_date=issue_date(original, tz))
    elif original is not None:
        raise BillingInputError("original", f"{statement.number} is not a credit note")
    words = LINE_WORDS[locale]
    lines = tuple(
        document_line(fiscal, sign, words, meter_of, machine_names)
        for fiscal in fiscal_lines(statement, natura_of=natura_of, original=original)
    )
    if not lines:
        raise StatementStateError(f"{statement.number} has no line that carries money")
    if workshop.stamp_duty_charged_to_party and stamp_duty_due(lines):
        # The statement the member was sent has no stamp duty line: adding one here would make
        # the invoice ask for 2.00 EUR more than the statement does.
        raise BillingInputError(
            "workshop.stamp_duty_charged_to_party",
            f"{statement.number} owes stamp duty that billing does not charge: the workshop"
            " bears it until statements carry it",
        )
    document = FiscalDocument(
        type=DocumentType.CREDIT_NOTE if credit_note else DocumentType.STATEMENT,
        number=statement.number,
        issue_date=day,
        progressivo=progressivo,
        workshop=workshop,
        party=party,
        lines=lines,
        original=linked,
    )
    if document.total_cents != sign * statement.total_cents:
        raise BillingError(
            f"{statement.number}: the document's total {document.total_cents} is not the"
            f" statement's {sign * statement.total_cents}"
        )
    return document


def month_fiscal_documents(
    month: str,
    statements: Sequence[StoredStatement],
    *,
    workshop: Workshop,
    parties: Mapping[str, BillingParty],
    first_sequence: int,
    originals: Sequence[StoredStatement] = (),
    natura_of: NaturaOf = DEFAULT_RULES,
    meter_of: MeterOf = running_time,
    machine_names: Mapping[tuple[str, str], str] = NO_NAMES,
    locale: Locale = Locale.IT,
    tz: ZoneInfo = ROME,
) -> list[FiscalDocument]:
    """The documents of the statements and credit notes issued in a month, in issue order.

    Progressivi run on from `first_sequence` without a gap across TD01 and TD04. A credit note
    finds its original among `statements` and `originals` (one of an earlier month).
    """
    by_number = {s.number: s for s in (*originals, *statements) if s.number is not None}
    issued = [
        s
        for s in statements
        if s.status is StatementStatus.ISSUED and issue_date(s, tz).strftime("%Y-%m") == month
    ]
    issued.sort(key=issue_order)
    documents = []
    for offset, statement in enumerate(issued):
        party = parties.get(statement.member)
        if party is None:
            raise BillingInputError("parties", f"no billing party for member {statement.member}")
        original = None
        if statement.credits_number is not None:
            original = by_number.get(statement.credits_number)
        documents.append(
            fiscal_document(
                statement,
                workshop=workshop,
                party=party,
                progressivo=progressivo(first_sequence + offset),
                original=original,
                natura_of=natura_of,
                meter_of=meter_of,
                machine_names=machine_names,
                locale=locale,
                tz=tz,
            )
        )
    return documents


def issue_order(statement: StoredStatement) -> tuple[int, int]:
    """A sort key in issue order: `YYYY/NNNN` numbers come from one gapless series a year."""
    year, seq = (statement.number or "0/0").split("/")
    return int(year), int(seq)


def month_documents(
    month: str,
    statements: Sequence[StoredStatement],
    *,
    workshop: Workshop,
    parties: Mapping[str, BillingParty],
    first_sequence: int,
    originals: Sequence[StoredStatement] = (),
    natura_of: NaturaOf = DEFAULT_RULES,
    meter_of: MeterOf = running_time,
    machine_names: Mapping[tuple[str, str], str] = NO_NAMES,
    locale: Locale = Locale.IT,
    tz: ZoneInfo = ROME,
) -> bytes:
    """The month's FatturaPA files and manifest as one zip for the SdI intermediary."""
    documents = month_fiscal_documents(
        month,
        statements,
        workshop=workshop,
        parties=parties,
        first_sequence=first_sequence,
        originals=originals,
        natura_of=natura_of,
        meter_of=meter_of,
        machine_names=machine_names,
        locale=locale,
        tz=tz,
    )
    return monthly_bundle(month, documents)
