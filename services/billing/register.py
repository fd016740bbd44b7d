"""The accountant's register of issued statements and credit notes, as CSV and JSON.

One row per issued document, in issue order: its number and day, its type (TD01, TD04, or
`rendiconto` for an association outside VAT), the party's name and tax id, the taxable amount
and VAT per rate, the 0 % amounts per Natura, the total and, for a credit note, the number it
credits. Amounts keep billing's sign: a credit note's are negative, so a column adds up to what
the period really billed. Money is cents inside and `Decimal` text outside. (`exports.py`
writes billing's own register, per document and rate, with no fiscal columns.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.billing.csv_locale import CSV_LOCALES, CsvLocale
from services.billing.errors import BillingError, BillingInputError
from services.billing.fiscal import ROME, issue_date, issue_order
from services.billing.fiscal_lines import DEFAULT_RULES, NaturaOf, fiscal_lines
from services.billing.money import cents_to_decimal
from services.billing.records import StatementKind, StatementStatus, StoredStatement
from services.fiscal.document import DocumentType
from services.fiscal.natura import Natura
from services.fiscal.profiles import BillingMode, BillingParty
from services.fiscal.wording import Locale

RENDICONTO = "rendiconto"


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One issued document as the accountant books it; amounts in cents, billing's sign."""

    number: str
    issue_date: date
    type: str  # TD01, TD04 or rendiconto
    party_name: str
    party_tax_id: str
    taxable_by_rate: tuple[tuple[int, int], ...]  # (basis points, cents), rates above 0
    vat_by_rate: tuple[tuple[int, int], ...]
    exempt_by_natura: tuple[tuple[Natura, int], ...]
    total_cents: int
    credits: str | None


def register_rows(
    statements: Sequence[StoredStatement],
    parties: Mapping[int, BillingParty],
    mode: BillingMode,
    *,
    natura_of: NaturaOf = DEFAULT_RULES,
    originals: Sequence[StoredStatement] = (),
    tz: ZoneInfo = ROME,
) -> list[RegisterRow]:
    """The register rows of the issued statements among `statements`, in issue order.

    `parties` are by statement id. A statement with no billing party is booked under the name
    on it in rendiconto mode; in fattura mode every document needs its party.
    """
    by_number = {s.number: s for s in (*originals, *statements) if s.number is not None}
    issued = [s for s in statements if s.status is StatementStatus.ISSUED]
    issued.sort(key=issue_order)
    return [_row(s, parties, mode, natura_of, by_number, tz) for s in issued]


def _row(
    statement: StoredStatement,
    parties: Mapping[int, BillingParty],
    mode: BillingMode,
    natura_of: NaturaOf,
    by_number: Mapping[str, StoredStatement],
    tz: ZoneInfo,
) -> RegisterRow:
    assert statement.number is not None  # issued
    party = parties.get(statement.id)
    if party is None and mode is BillingMode.FATTURA:
        raise BillingInputError("parties", f"no billing party for member {statement.member}")
    credit_note = statement.kind is StatementKind.CREDIT_NOTE
    original = by_number.get(statement.credits_number or "") if credit_note else None
    exempt: dict[Natura, int] = {}
    for fiscal in fiscal_lines(statement, natura_of=natura_of, original=original):
        if fiscal.natura is not None:
            exempt[fiscal.natura] = exempt.get(fiscal.natura, 0) + fiscal.line.net_cents
    taxed = [vat for vat in statement.vat if vat.vat_bp]
    total = sum(v.net_cents + v.vat_cents for v in taxed) + sum(exempt.values())
    if total != statement.total_cents:
        raise BillingError(
            f"{statement.number}: the register's total {total} is not the statement's"
            f" {statement.total_cents}"
        )
    if mode is BillingMode.RENDICONTO:
        kind = RENDICONTO
    else:
        kind = (DocumentType.CREDIT_NOTE if credit_note else DocumentType.STATEMENT).value
    return RegisterRow(
        number=statement.number,
        issue_date=issue_date(statement, tz),
        type=kind,
        party_name=party.display_name if party is not None else statement.member_name,
        party_tax_id=(party.vat_number or party.fiscal_code or "") if party is not None else "",
        taxable_by_rate=tuple((v.vat_bp, v.net_cents) for v in taxed),
        vat_by_rate=tuple((v.vat_bp, v.vat_cents) for v in taxed),
        exempt_by_natura=tuple(sorted(exempt.items())),
        total_cents=statement.total_cents,
        credits=statement.credits_number,
    )


@dataclass(frozen=True)
class RegisterFormat:
    """How one language writes the register: its CSV style, day, column names."""

    csv: CsvLocale
    day_format: str
    number: str
    day: str
    type: str
    party: str
    tax_id: str
    taxable: str
    vat: str
    exempt: str
    total: str
    credits: str


REGISTER_FORMATS: Mapping[Locale, RegisterFormat] = {
    Locale.IT: RegisterFormat(
        csv=CSV_LOCALES["it"],
        day_format="%d/%m/%Y",
        number="numero",
        day="data",
        type="tipo",
        party="controparte",
        tax_id="id fiscale",
        taxable="imponibile {rate}%",
        vat="IVA {rate}%",
        exempt="importo {natura}",
        total="totale",
        credits="storna",
    ),
    Locale.EN: RegisterFormat(
        csv=CSV_LOCALES["en"],
        day_format="%Y-%m-%d",
        number="number",
        day="date",
        type="type",
        party="party",
        tax_id="tax id",
        taxable="taxable {rate}%",
        vat="VAT {rate}%",
        exempt="amount {natura}",
        total="total",
        credits="credits",
    ),
}


def rate_text(vat_bp: int) -> str:
    """A rate in basis points as percent text: 2200 → `22`, 550 → `5.5`."""
    rate = Decimal(vat_bp).scaleb(-2)
    return str(rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize())


def _money(cents: int) -> str:
    return str(cents_to_decimal(cents))


def _text_cell(text: str) -> str:
    # A name typed as `=HYPERLINK(...)` must stay a name when a spreadsheet opens the register.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def register_csv(rows: Sequence[RegisterRow], locale: Locale) -> str:
    """The register as CSV: `;`, decimal commas and dd/mm/yyyy in Italian; `,`, points, ISO."""
    form = REGISTER_FORMATS[locale]
    rates = sorted({bp for row in rows for bp, _ in row.taxable_by_rate})
    naturas = sorted({natura for row in rows for natura, _ in row.exempt_by_natura})
    header = [form.number, form.day, form.type, form.party, form.tax_id]
    for bp in rates:
        text = rate_text(bp).replace(".", form.csv.decimal_mark)
        header += [form.taxable.format(rate=text), form.vat.format(rate=text)]
    header += [form.exempt.format(natura=natura.value) for natura in naturas]
    header += [form.total, form.credits]
    lines: list[list[str]] = []
    for row in rows:
        taxable, vat, exempt = (
            dict(row.taxable_by_rate),
            dict(row.vat_by_rate),
            dict(row.exempt_by_natura),
        )
        cells = [
            row.number,
            row.issue_date.strftime(form.day_format),
            row.type,
            _text_cell(row.party_name),
            row.party_tax_id,
        ]
        for bp in rates:
            cells += [form.csv.cents(taxable.get(bp, 0)), form.csv.cents(vat.get(bp, 0))]
        cells += [form.csv.cents(exempt.get(natura, 0)) for natura in naturas]
        cells += [form.csv.cents(row.total_cents), row.credits or ""]
        lines.append(cells)
    return form.csv.table(header, lines)


def register_json(rows: Sequence[RegisterRow]) -> str:
    """The register as JSON: amounts as exact decimal text, rates in percent, ISO dates."""
    documents = [
        {
            "number": row.number,
            "date": row.issue_date.isoformat(),
            "type": row.type,
            "party": {"name": row.party_name, "tax_id": row.party_tax_id},
            "taxable": {rate_text(bp): _money(cents) for bp, cents in row.taxable_by_rate},
            "vat": {rate_text(bp): _money(cents) for bp, cents in row.vat_by_rate},
            "exempt": {natura.value: _money(cents) for natura, cents in row.exempt_by_natura},
            "total": _money(row.total_cents),
            "credits": row.credits,
        }
        for row in rows
    ]
    return json.dumps({"documents": documents}, indent=1, ensure_ascii=False)
