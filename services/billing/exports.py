"""Statements for the accountant (CSV) and for machines (JSON).

The CSV register has one row per document and VAT rate, the lines CSV every line of every
document; both are written as a spreadsheet in the workshop's language reads them (`;` and
decimal commas in Italian, `,` and points in English), amounts exact from their cents, times in
the site's zone with their offset. The JSON document carries amounts as integer cents next to
the currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from services.billing.csv_locale import csv_locale
from services.billing.records import StoredStatement
from services.billing.store import StoredPayment, StoredTake

REGISTER_COLUMNS = (
    "number",
    "issued",
    "kind",
    "credits",
    "month",
    "member",
    "member_name",
    "vat_rate_pct",
    "net",
    "vat",
    "total",
    "currency",
    "status",
)
LINE_COLUMNS = (
    "number",
    "member",
    "position",
    "kind",
    "reference",
    "site",
    "machine",
    "started",
    "ended",
    "day",
    "running_min",
    "unlocked_min",
    "energy_kwh",
    "free_min",
    "key",
    "quantity",
    "key_total",
    "note",
    "net",
    "vat_rate_pct",
)


def register_csv(statements: Iterable[StoredStatement], tz: ZoneInfo, locale: str) -> str:
    """One row per document and VAT rate: the accountant's register, in the locale's CSV."""
    style = csv_locale(locale)
    rows = [
        (
            statement.number or "",
            statement.issued_at.astimezone(tz).date().isoformat() if statement.issued_at else "",
            statement.kind.value,
            statement.credits_number or "",
            statement.month,
            statement.member,
            statement.member_name,
            style.ratio(vat.vat_bp, 100, 2),
            style.cents(vat.net_cents),
            style.cents(vat.vat_cents),
            style.cents(vat.net_cents + vat.vat_cents),
            statement.currency,
            statement.status.value,
        )
        for statement in statements
        for vat in statement.vat or ()
    ]
    return style.table(REGISTER_COLUMNS, rows)


def lines_csv(statements: Iterable[StoredStatement], tz: ZoneInfo, locale: str) -> str:
    """Every line of every document; times in the site's zone, minutes and kWh in the locale."""
    style = csv_locale(locale)
    rows = [
        (
            statement.number or f"draft-{statement.id}",
            statement.member,
            position,
            line.kind.value,
            line.reference or "",
            line.site or "",
            line.machine or "",
            _local(line.started, tz),
            _local(line.ended, tz),
            line.day.isoformat() if line.day else "",
            style.ratio(line.running_ms, 60_000, 3),
            style.ratio(line.unlocked_ms, 60_000, 3),
            style.ratio(line.energy_mwh, 1_000_000, 6),
            style.ratio(line.free_ms, 60_000, 3),
            line.key or "",
            "" if line.quantity is None else line.quantity,
            "" if line.key_total is None else line.key_total,
            line.note or "",
            style.cents(line.net_cents),
            style.ratio(line.vat_bp, 100, 2),
        )
        for statement in statements
        for position, line in enumerate(statement.lines, start=1)
    ]
    return style.table(LINE_COLUMNS, rows)


PAYMENT_COLUMNS = (
    "booked",
    "amount",
    "currency",
    "payer",
    "remittance",
    "creditor_reference",
    "statement",
    "member",
    "matched_by",
    "not_ours",
)
TAKE_COLUMNS = (
    "taken",
    "member",
    "item",
    "unit",
    "quantity",
    "unit_price",
    "vat_rate_pct",
    "net",
    "machine",
    "recorded_by",
)


def payments_csv(payments: Iterable[StoredPayment], locale: str) -> str:
    """Every payment booked, matched or waiting: the accountant's bank side, in the locale's CSV."""
    style = csv_locale(locale)
    rows = [
        (
            payment.booked.isoformat(),
            style.cents(payment.amount_cents),
            payment.currency,
            payment.payer,
            payment.remittance,
            payment.creditor_reference or "",
            payment.statement_number or "",
            payment.member or "",
            payment.matched_by.value if payment.matched_by else "",
            "1" if payment.not_ours else "",
        )
        for payment in payments
    ]
    return style.table(PAYMENT_COLUMNS, rows)


def takes_csv(takes: Iterable[StoredTake], tz: ZoneInfo, locale: str) -> str:
    """Every consumable taken, priced as taken: what the statements' material lines add up to."""
    style = csv_locale(locale)
    rows = [
        (
            _local(take.taken_at, tz),
            take.member,
            take.item,
            take.unit,
            take.quantity,
            style.cents(take.unit_price_cents),
            style.ratio(take.vat_bp, 100, 2),
            style.cents(take.net_cents),
            take.machine or "",
            take.recorded_by or "",
        )
        for take in takes
    ]
    return style.table(TAKE_COLUMNS, rows)


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat() if value is not None else ""


class LineDocument(BaseModel):
    """A statement line in JSON."""

    model_config = ConfigDict(frozen=True)

    kind: str
    net_cents: int
    vat_bp: int
    reference: str | None
    site: str | None
    machine: str | None
    session_id: str | None
    started: datetime | None
    ended: datetime | None
    day: date | None
    running_ms: int | None
    unlocked_ms: int | None
    energy_mwh: int | None
    free_ms: int | None
    key: str | None
    quantity: int | None
    key_total: int | None
    note: str | None


class VatDocument(BaseModel):
    """Net and VAT at one rate."""

    model_config = ConfigDict(frozen=True)

    vat_bp: int
    net_cents: int
    vat_cents: int


class StatementDocument(BaseModel):
    """A statement or credit note in JSON: the same numbers the PDF prints."""

    model_config = ConfigDict(frozen=True)

    v: int = 1
    number: str | None
    kind: str
    status: str
    month: str
    member: str
    member_name: str
    member_email: str | None
    # The billing party it is made out to, as drafted (none: the member had none).
    party_id: int | None = None
    party_label: str | None = None
    credits: str | None
    reason: str | None
    currency: str
    issued_at: datetime | None
    net_cents: int
    vat_cents: int
    total_cents: int
    vat: list[VatDocument]
    lines: list[LineDocument]


def document_of(statement: StoredStatement) -> StatementDocument:
    """The JSON model of a stored statement."""
    return StatementDocument(
        number=statement.number,
        kind=statement.kind.value,
        status=statement.status.value,
        month=statement.month,
        member=statement.member,
        member_name=statement.member_name,
        member_email=statement.member_email,
        party_id=statement.party_id,
        party_label=statement.party_label,
        credits=statement.credits_number,
        reason=statement.reason,
        currency=statement.currency,
        issued_at=statement.issued_at,
        net_cents=statement.net_cents,
        vat_cents=statement.vat_cents,
        total_cents=statement.total_cents,
        vat=[
            VatDocument(vat_bp=v.vat_bp, net_cents=v.net_cents, vat_cents=v.vat_cents)
            for v in statement.vat
        ],
        lines=[
            LineDocument(
                kind=line.kind.value,
                net_cents=line.net_cents,
                vat_bp=line.vat_bp,
                reference=line.reference,
                site=line.site,
                machine=line.machine,
                session_id=line.session_id,
                started=line.started,
                ended=line.ended,
                day=line.day,
                running_ms=line.running_ms,
                unlocked_ms=line.unlocked_ms,
                energy_mwh=line.energy_mwh,
                free_ms=line.free_ms,
                key=line.key,
                quantity=line.quantity,
                key_total=line.key_total,
                note=line.note,
            )
            for line in statement.lines
        ],
    )


def statement_json(statement: StoredStatement) -> str:
    """A statement as a JSON document."""
    return document_of(statement).model_dump_json(indent=2)
