"""Statements as A4 PDFs: the workshop's header, the month's lines, VAT, total, the sessions.

Rendered from the stored statement, never recomputed, so an issued statement prints the same
every time. Labels come from `wording`, numbers and dates from Babel via `formats`.

Given a `FiscalContext`, the PDF is the document an Italian treasurer files: both parties'
fiscal data, the document's type in words (a courtesy copy of the electronic invoice, or an
association's statement that is no invoice, and why), the Natura of every 0 % line, and the
payment instructions with the EPC QR code of the transfer. Every page says "x / y"; every mark
beside a line has its note at the end and no note is printed without a mark in use.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date
from typing import IO, Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable
from stdnum import iso11649

from services.billing import formats
from services.billing.allocation import KEY_RULES, AllocationKey
from services.billing.errors import RenderError
from services.billing.fiscal_print import (
    FiscalContext,
    address_lines,
    due_date,
    iban_groups,
    issue_day,
    transfer_request,
)
from services.billing.footnotes import Footnotes
from services.billing.months import Month
from services.billing.prepaid import CreditPayment
from services.billing.records import (
    INFORMATION_KINDS,
    Line,
    LineKind,
    StatementKind,
    StatementStatus,
    StoredStatement,
)
from services.billing.settings import Workshop
from services.billing.tariffs import Meter
from services.billing.wording import Word, say
from services.fiscal import STAMP_DUTY_NATURE, BillingMode, Locale, Natura, epc_qr_png
from services.fiscal.document import STAMP_DUTY_THRESHOLD_CENTS
from services.fiscal.profiles import Liquidation, SoleShareholder
from services.fiscal.wording import (
    CREDIT_NOTE_TITLE,
    MODE_WORDING,
    STAMP_DUTY_NOTICE,
    legal_reference,
    natura_text,
)

MARGIN = 18 * mm
_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=9, leading=11)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=9.5)
_TITLE = ParagraphStyle("title", parent=_STYLES["Heading1"], fontSize=16, spaceAfter=2)
_HEADING = ParagraphStyle("heading", parent=_STYLES["Heading2"], fontSize=11, spaceBefore=8)
_NOTICE = ParagraphStyle("notice", parent=_BODY, fontName="Helvetica-Oblique", spaceBefore=3)
MS_PER_HOUR = 3_600_000
MWH_PER_KWH = 1_000_000
# Meters kept in minutes are printed in hours, the unit a workshop prices machine time in.
_METER_SHOWN = {
    Meter.RUNNING_MINUTES: ("h", MS_PER_HOUR),
    Meter.UNLOCKED_MINUTES: ("h", MS_PER_HOUR),
    Meter.KWH: ("kWh", MWH_PER_KWH),
}
_GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ]
)
_KEY_WORDS = {
    AllocationKey.KWH: Word.KEY_KWH,
    AllocationKey.RUNNING_HOURS: Word.KEY_RUNNING_HOURS,
    AllocationKey.EQUAL: Word.KEY_EQUAL,
    AllocationKey.MEMBER_DAYS: Word.KEY_MEMBER_DAYS,
    AllocationKey.WEIGHTS: Word.KEY_WEIGHTS,
}


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(_GRID)
    return table


class RowGrid(Flowable):
    """Many one-line rows (the session list) drawn straight on the canvas, split across pages.

    A platypus Table measures every cell; for hundreds of plain rows of fixed height that
    costs most of a statement's rendering time, and buys nothing.
    """

    ROW_HEIGHT = 10.0
    FONT_SIZE = 7.5

    def __init__(
        self, header: list[str], rows: list[list[str]], widths: list[float], *, left: int = 1
    ) -> None:
        super().__init__()
        self.header = header
        self.rows = rows
        self.widths = widths
        self.left = left  # how many columns, from the first, are aligned left

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        """The whole grid's size: a header and every row."""
        self.width = sum(self.widths)
        self.height = (len(self.rows) + 1) * self.ROW_HEIGHT + 2
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        """The rows that fit here and the rest, each part with the header again."""
        fit = int((availHeight - 2) // self.ROW_HEIGHT) - 1
        if fit < 1:
            return []
        if fit >= len(self.rows):
            return [self]
        return [
            RowGrid(self.header, self.rows[:fit], self.widths, left=self.left),
            RowGrid(self.header, self.rows[fit:], self.widths, left=self.left),
        ]

    def draw(self) -> None:
        """Header in bold and a rule under it; text columns left, numbers right."""
        canvas = self.canv
        y = self.height - self.ROW_HEIGHT + 2.5
        for index, row in enumerate([self.header, *self.rows]):
            canvas.setFont("Helvetica-Bold" if index == 0 else "Helvetica", self.FONT_SIZE)
            x = 0.0
            for column, (text, width) in enumerate(zip(row, self.widths, strict=True)):
                if column < self.left:
                    canvas.drawString(x + 2, y, text)
                else:
                    canvas.drawRightString(x + width - 2, y, text)
                x += width
            if index == 0:
                canvas.setLineWidth(0.6)
                canvas.line(0, y - 2.5, self.width, y - 2.5)
            y -= self.ROW_HEIGHT


class _Render:
    """One statement's flowables in one language."""

    def __init__(
        self,
        statement: StoredStatement,
        workshop: Workshop,
        tz: ZoneInfo,
        fiscal: FiscalContext | None,
        from_credit: CreditPayment | None = None,
    ) -> None:
        self.statement = statement
        self.from_credit = from_credit
        self.workshop = workshop
        self.tz = tz
        self.fiscal = fiscal
        self.language = statement.locale
        self.locale = Locale.EN if statement.locale == "en" else Locale.IT
        self.footnotes = Footnotes()

    def say(self, word: Word) -> str:
        return say(word, self.language)

    def money(self, cents: int) -> str:
        return formats.money(cents, self.statement.currency, self.language)

    def hours(self, ms: int | None) -> str:
        return f"{formats.quantity(ms or 0, MS_PER_HOUR, self.language, places=2)} h"

    def kwh(self, mwh: int | None) -> str:
        return f"{formats.quantity(mwh or 0, MWH_PER_KWH, self.language, places=2)} kWh"

    def day(self, value: date) -> str:
        return formats.long_day(value, self.language)

    def rate(self, line: Line) -> str:
        """A line's VAT rate, with the mark of its Natura when it bears none."""
        return formats.rate(line.vat_bp, self.language) + self.natura_mark(self.natura(line))

    def natura(self, line: Line) -> Natura | None:
        return self.fiscal.natura_of(line) if self.fiscal is not None else None

    def natura_mark(self, natura: Natura | None) -> str:
        if natura is None:
            return ""
        wording = f"{natura.value}: {natura_text(natura, self.locale)} ({legal_reference(natura)})"
        return self.footnotes.mark(f"natura:{natura.value}", wording)

    @property
    def mode(self) -> BillingMode | None:
        return self.fiscal.workshop.billing_mode if self.fiscal is not None else None

    def title(self) -> str:
        credit = self.statement.kind is StatementKind.CREDIT_NOTE
        number = self.statement.number or self.say(Word.DRAFT)
        if self.mode is None:
            return f"{self.say(Word.CREDIT_NOTE if credit else Word.STATEMENT)} {number}"
        kind = (
            CREDIT_NOTE_TITLE[self.locale] if credit else MODE_WORDING[self.mode].title(self.locale)
        )
        if self.mode is BillingMode.RENDICONTO:
            return f"{kind} {number} \N{EM DASH} {self.say(Word.NOT_AN_INVOICE)}"
        return f"{kind} {number}"

    def issuer(self) -> list[str]:
        """The workshop's lines at the top: its fiscal profile when given, else its settings."""
        email = [_escape(self.workshop.email)] if self.workshop.email else []
        if self.fiscal is None:
            lines = [f"<b>{_escape(self.workshop.name)}</b>", *map(_escape, self.workshop.address)]
            if self.workshop.vat_number:
                lines.append(f"P. IVA {_escape(self.workshop.vat_number)}")
            return [*lines, *email]
        profile = self.fiscal.workshop
        lines = [
            f"<b>{_escape(profile.legal_name)}</b>",
            *map(_escape, address_lines(profile.address)),
        ]
        lines.extend(self.tax_ids(profile.vat_number, profile.fiscal_code))
        if profile.rea is not None:
            rea = profile.rea
            lines.append(f"REA {rea.office}-{_escape(rea.number)}")
            if rea.share_capital_cents is not None:
                capital = self.money(rea.share_capital_cents)
                lines.append(f"{self.say(Word.SHARE_CAPITAL)} {capital}")
            if rea.sole_shareholder is SoleShareholder.SOLE:
                lines.append(self.say(Word.SOLE_SHAREHOLDER))
            if rea.liquidation is Liquidation.IN_LIQUIDATION:
                lines.append(self.say(Word.IN_LIQUIDATION))
        return [*lines, *email]

    def tax_ids(self, vat_number: str | None, fiscal_code: str | None) -> list[str]:
        lines = []
        if vat_number:
            lines.append(f"{self.say(Word.VAT_NUMBER)} IT{vat_number}")
        if fiscal_code:
            lines.append(f"{self.say(Word.FISCAL_CODE)} {fiscal_code}")
        return lines

    def party(self, fiscal: FiscalContext) -> list[str]:
        """Whom the document is for: name, address, tax ids, and where the SdI delivers."""
        party = fiscal.party
        lines = [
            f"<b>{_escape(party.display_name)}</b>",
            *map(_escape, address_lines(party.address)),
        ]
        lines.extend(self.tax_ids(party.vat_number, party.fiscal_code))
        if party.pec is not None and party.recipient_code is None:
            lines.append(f"PEC {_escape(party.pec)}")
        else:
            lines.append(f"{self.say(Word.RECIPIENT_CODE)} {party.sdi_code}")
            if party.pec is not None:
                lines.append(f"PEC {_escape(party.pec)}")
        return lines

    def header(self) -> list[Flowable]:
        statement, workshop = self.statement, self.workshop
        logo: Flowable = Spacer(1, 1)
        if workshop.logo is not None:
            logo = Image(str(workshop.logo), width=30 * mm, height=30 * mm, kind="proportional")
        top = Table(
            [[logo, Paragraph("<br/>".join(self.issuer()), _BODY)]],
            colWidths=[40 * mm, None],
            style=[("VALIGN", (0, 0), (-1, -1), "TOP")],
        )
        flowables: list[Flowable] = [top]
        if self.fiscal is not None:
            parties = Table(
                [
                    [self.say(Word.ISSUER), self.say(Word.BILL_TO)],
                    [
                        Paragraph("<br/>".join(self.issuer()), _BODY),
                        Paragraph("<br/>".join(self.party(self.fiscal)), _BODY),
                    ],
                ],
                colWidths=[87 * mm, 87 * mm],
                style=[
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ],
            )
            flowables = [logo, Spacer(1, 2 * mm), parties] if workshop.logo else [parties]
        month = Month.parse(statement.month)
        who = f"<b>{_escape(statement.member_name)}</b> ({statement.member})"
        facts = [
            f"{self.say(Word.MEMBER)}: {who}",
            f"{self.say(Word.PERIOD)}: {formats.month_name(month, self.language)}",
        ]
        issued = issue_day(statement, self.tz)
        if issued is not None:
            facts.append(f"{self.say(Word.ISSUED)}: {self.day(issued)}")
        original = self.fiscal.original if self.fiscal is not None else None
        if original is not None:
            corrects = self.say(Word.CORRECTS_DOCUMENT)
            facts.append(corrects.format(number=original.number, day=self.day(original.issued)))
        elif statement.credits_number:
            facts.append(f"{self.say(Word.CREDITS)}: {statement.credits_number}")
        if statement.reason:
            facts.append(f"{self.say(Word.REASON)}: {_escape(statement.reason)}")
        return [
            *flowables,
            Spacer(1, 4 * mm),
            Paragraph(_escape(self.title()), _TITLE),
            Paragraph("<br/>".join(facts), _BODY),
            *self.notice(),
        ]

    def notice(self) -> list[Flowable]:
        """What kind of document this is, fiscally: a courtesy copy, or why it is no invoice."""
        if self.mode is BillingMode.RENDICONTO:
            text = MODE_WORDING[BillingMode.RENDICONTO].notice(self.locale)
            return [Paragraph(_escape(text), _NOTICE)]
        if self.mode is BillingMode.FATTURA and self.statement.number is not None:
            credit = self.statement.kind is StatementKind.CREDIT_NOTE
            document = self.say(Word.ELECTRONIC_CREDIT_NOTE if credit else Word.ELECTRONIC_INVOICE)
            text = self.say(Word.COURTESY_COPY).format(
                document=document, number=self.statement.number
            )
            return [Paragraph(_escape(text), _NOTICE)]
        return []

    def machine_time(self) -> list[Flowable]:
        sessions = self.statement.lines_of_kind(LineKind.SESSION)
        if not sessions:
            return []
        sums: defaultdict[tuple[str, int], list[int]] = defaultdict(lambda: [0] * 6)
        first: dict[tuple[str, int], Line] = {}
        for line in sessions:
            key = (machine_name(line), line.vat_bp)
            first.setdefault(key, line)
            row = sums[key]
            row[0] += 1
            row[1] += line.running_ms or 0
            row[2] += line.unlocked_ms or 0
            row[3] += line.energy_mwh or 0
            row[4] += line.free_ms or 0
            row[5] += line.net_cents
        words = (
            Word.MACHINE,
            Word.SESSIONS,
            Word.RUNNING,
            Word.UNLOCKED,
            Word.ENERGY,
            Word.FREE,
            Word.RATE,
            Word.AMOUNT,
        )
        rows = [[self.say(word) for word in words]]
        for key, (count, running, unlocked, energy, free, cents) in sorted(sums.items()):
            rows.append(
                [
                    key[0],
                    str(count),
                    self.hours(running),
                    self.hours(unlocked),
                    self.kwh(energy),
                    self.hours(free),
                    self.rate(first[key]),
                    self.money(cents),
                ]
            )
        widths = [38 * mm, 16 * mm, 20 * mm, 20 * mm, 22 * mm, 18 * mm, 14 * mm, 26 * mm]
        return [Paragraph(self.say(Word.MACHINE_TIME), _HEADING), _table(rows, widths)]

    def meter_quantity(self, base: int | None, meter: Meter) -> str:
        unit, per_unit = _METER_SHOWN[meter]
        return formats.quantity(base or 0, per_unit, self.language, places=2) + f" {unit}"

    def plan(self) -> list[Flowable]:
        rows: list[list[str]] = []
        for line in self.statement.lines_of_kind(LineKind.PLAN_FEE):
            days = f"{line.quantity}/{line.key_total} {self.say(Word.DAYS)}"
            rows.append(
                [
                    f"{self.say(Word.PLAN)} {line.reference}",
                    days,
                    self.rate(line),
                    self.money(line.net_cents),
                ]
            )
        for line in self.statement.lines_of_kind(LineKind.ALLOWANCE):
            meter = Meter(line.key) if line.key else Meter.RUNNING_MINUTES
            used = self.meter_quantity(line.quantity, meter)
            granted = self.meter_quantity(line.key_total, meter)
            where = machine_name(line) or self.say(Word.ALL_MACHINES)
            rows.append(
                [
                    f"{self.say(Word.ALLOWANCE)} ({line.reference}, {where})",
                    f"{used} / {granted} {self.say(Word.USED)}",
                    "",
                    "",
                ]
            )
        if not rows:
            return []
        rows.insert(
            0,
            [
                self.say(Word.PLAN),
                self.say(Word.QUANTITY),
                self.say(Word.RATE),
                self.say(Word.AMOUNT),
            ],
        )
        widths = [78 * mm, 52 * mm, 16 * mm, 28 * mm]
        return [Paragraph(self.say(Word.PLAN), _HEADING), _table(rows, widths)]

    def packs(self) -> list[Flowable]:
        """Packs bought this month (at their price) and what the sessions drew from packs."""
        rows: list[list[str]] = []
        for line in self.statement.lines_of_kind(LineKind.PACK):
            meter = Meter(line.key) if line.key else Meter.RUNNING_MINUTES
            rows.append(
                [
                    _escape(line.note or line.reference or ""),
                    self.meter_quantity(line.quantity, meter),
                    self.rate(line),
                    self.money(line.net_cents),
                ]
            )
        for line in self.statement.lines_of_kind(LineKind.PACK_DRAW):
            meter = Meter(line.key) if line.key else Meter.RUNNING_MINUTES
            drawn = self.meter_quantity(line.quantity, meter)
            rows.append(
                [
                    _escape(line.note or line.reference or ""),
                    f"{drawn} {self.say(Word.PACK_DRAWN)}",
                    "",
                    "",
                ]
            )
        if not rows:
            return []
        words = (Word.PACKS, Word.QUANTITY, Word.RATE, Word.AMOUNT)
        rows.insert(0, [self.say(word) for word in words])
        widths = [78 * mm, 52 * mm, 16 * mm, 28 * mm]
        return [Paragraph(self.say(Word.PACKS), _HEADING), _table(rows, widths)]

    def shared_costs(self) -> list[Flowable]:
        shares = self.statement.lines_of_kind(LineKind.POOL_SHARE)
        if not shares:
            return []
        words = (Word.POOL, Word.KEY, Word.YOUR_QUANTITY, Word.OF_TOTAL, Word.RATE, Word.AMOUNT)
        rows = [[self.say(word) for word in words]]
        for line in shares:
            key = AllocationKey(line.key) if line.key else AllocationKey.EQUAL
            rule = KEY_RULES[key]
            label = self.say(_KEY_WORDS[key])
            if line.note == "remainder":
                label = f"{label} ({self.say(Word.REMAINDER)})"
            places = 2 if rule.base_per_unit > 1 else 0
            rows.append(
                [
                    line.reference or "",
                    label,
                    formats.quantity(
                        line.quantity or 0, rule.base_per_unit, self.language, places=places
                    ),
                    formats.quantity(
                        line.key_total or 0, rule.base_per_unit, self.language, places=places
                    ),
                    self.rate(line),
                    self.money(line.net_cents),
                ]
            )
        widths = [40 * mm, 44 * mm, 22 * mm, 22 * mm, 18 * mm, 28 * mm]
        return [Paragraph(self.say(Word.SHARED_COSTS), _HEADING), _table(rows, widths)]

    def consumables(self) -> list[Flowable]:
        """Materials taken: day, item, where, quantity in its unit, unit price, rate, amount."""
        lines = self.statement.lines_of_kind(LineKind.CONSUMABLE)
        if not lines:
            return []
        words = (Word.DAY, Word.ITEM, Word.MACHINE, Word.QUANTITY, Word.UNIT_PRICE, Word.RATE)
        rows = [[self.say(word) for word in (*words, Word.AMOUNT)]]
        for line in lines:
            rows.append(
                [
                    self.day(line.day) if line.day is not None else "",
                    _escape(line.reference or ""),
                    machine_name(line),
                    f"{line.quantity or 0} {_escape(line.key or '')}",
                    self.money(line.key_total or 0),
                    self.rate(line),
                    self.money(line.net_cents),
                ]
            )
        widths = [22 * mm, 44 * mm, 30 * mm, 20 * mm, 22 * mm, 14 * mm, 22 * mm]
        return [Paragraph(self.say(Word.CONSUMABLES), _HEADING), _table(rows, widths)]

    def bookings(self) -> list[Flowable]:
        """Bookings: day and hour, machine, used or no-show, rate, amount."""
        lines = [
            line
            for line in self.statement.lines
            if line.kind in (LineKind.BOOKING_FEE, LineKind.NO_SHOW)
        ]
        if not lines:
            return []
        words = (Word.START, Word.MACHINE, Word.WHAT, Word.RATE)
        rows = [[self.say(word) for word in (*words, Word.AMOUNT)]]
        for line in lines:
            what = Word.NO_SHOW if line.kind is LineKind.NO_SHOW else Word.BOOKING_USED
            rows.append(
                [
                    formats.moment(line.started, self.tz) if line.started else "",
                    machine_name(line),
                    self.say(what),
                    self.rate(line),
                    self.money(line.net_cents),
                ]
            )
        widths = [36 * mm, 50 * mm, 44 * mm, 14 * mm, 28 * mm]
        return [Paragraph(self.say(Word.BOOKINGS), _HEADING), _table(rows, widths)]

    def credits(self) -> list[Flowable]:
        lines = self.statement.lines_of_kind(LineKind.CREDIT)
        if not lines:
            return []
        rows = [[self.say(Word.CREDIT), self.say(Word.RATE), self.say(Word.AMOUNT)]]
        for line in lines:
            rows.append(
                [
                    f"{line.reference or ''} {_escape(line.note or '')}",
                    self.rate(line),
                    self.money(line.net_cents),
                ]
            )
        return [
            Paragraph(self.say(Word.CREDIT), _HEADING),
            _table(rows, [110 * mm, 36 * mm, 28 * mm]),
        ]

    def untaxed(self) -> dict[Natura | None, int]:
        """The net of the lines without VAT, by Natura (one None row without a fiscal profile)."""
        by_natura: dict[Natura | None, int] = {}
        for line in self.statement.lines:
            if line.vat_bp or (line.kind in INFORMATION_KINDS and not line.net_cents):
                continue
            natura = self.natura(line)
            by_natura[natura] = by_natura.get(natura, 0) + line.net_cents
        return by_natura

    def totals(self) -> list[Flowable]:
        statement = self.statement
        rows = [[self.say(Word.RATE), self.say(Word.NET), self.say(Word.VAT)]]
        untaxed = self.untaxed()
        for vat in statement.vat:
            if vat.vat_bp == 0:
                for natura, net in untaxed.items():
                    rate = formats.rate(0, self.language) + self.natura_mark(natura)
                    rows.append([rate, self.money(net), self.money(0)])
                continue
            rows.append(
                [
                    formats.rate(vat.vat_bp, self.language),
                    self.money(vat.net_cents),
                    self.money(vat.vat_cents),
                ]
            )
        rows.append([self.say(Word.TOTAL), "", self.money(statement.total_cents)])
        table = _table(rows, [40 * mm, 40 * mm, 40 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 10),
                    ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black),
                ]
            )
        )
        table.hAlign = "RIGHT"
        flowables: list[Flowable] = [Spacer(1, 5 * mm), table, *self.credit_paid()]
        stamped = sum(net for natura, net in untaxed.items() if natura in STAMP_DUTY_NATURE)
        if self.mode is BillingMode.FATTURA and stamped > STAMP_DUTY_THRESHOLD_CENTS:
            flowables.append(Paragraph(_escape(STAMP_DUTY_NOTICE[self.locale]), _NOTICE))
        return flowables

    def credit_paid(self) -> list[Flowable]:
        """What the member's credit paid of the total, what is still owed and the credit left."""
        paid = self.from_credit
        if paid is None:
            return []
        rows = [
            [self.say(Word.PAID_FROM_CREDIT), "", self.money(-paid.drawn_cents)],
            [self.say(Word.STILL_OWED), "", self.money(paid.owed_cents)],
            [self.say(Word.CREDIT_LEFT), "", self.money(paid.balance_after_cents)],
        ]
        table = _table(rows, [40 * mm, 40 * mm, 40 * mm])
        table.setStyle(TableStyle([("FONT", (0, 1), (-1, 1), "Helvetica-Bold", 10)]))
        table.hAlign = "RIGHT"
        return [Spacer(1, 2 * mm), table]

    def payment(self) -> list[Flowable]:
        """How to pay: amount, due date, IBAN, beneficiary, reference and the transfer's QR code."""
        if self.fiscal is None:
            return []
        profile = self.fiscal.workshop
        transfer = transfer_request(self.statement, profile)
        due = due_date(self.statement, profile, self.tz)
        if transfer is None or due is None or transfer.reference is None:
            return []
        reference = f"{iso11649.format(transfer.reference)} ({self.statement.number})"
        owed = self.statement.total_cents
        if self.from_credit is not None:
            # Credit paid part of it: the transfer asks for the rest, and none if nothing is left.
            owed = self.from_credit.owed_cents
            if owed <= 0:
                return []
            transfer = transfer.model_copy(update={"amount_cents": owed})
        facts = [
            (Word.AMOUNT_DUE, self.money(owed)),
            (Word.DUE_DATE, self.day(due)),
            (Word.BENEFICIARY, _escape(profile.legal_name)),
            (None, f"IBAN {iban_groups(profile.iban)}"),
            (Word.PAYMENT_REFERENCE, reference),
        ]
        text = "<br/>".join(
            f"{self.say(word)}: <b>{value}</b>" if word is not None else value
            for word, value in facts
        )
        text += f"<br/>{_escape(self.say(Word.SCAN_TO_PAY))}"
        code = Image(_png(epc_qr_png(transfer, scale=4)), width=32 * mm, height=32 * mm)
        table = Table(
            [[Paragraph(text, _BODY), code]],
            colWidths=[136 * mm, 38 * mm],
            style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")],
        )
        return [Paragraph(self.say(Word.PAYMENT), _HEADING), table]

    def session_list(self) -> list[Flowable]:
        sessions = self.statement.lines_of_kind(LineKind.SESSION)
        if not sessions:
            return []
        words = (
            Word.START,
            Word.END,
            Word.MACHINE,
            Word.RUNNING,
            Word.UNLOCKED,
            Word.ENERGY,
            Word.AMOUNT,
        )
        rows = [[self.say(word) for word in words]]
        for line in sessions:
            rows.append(
                [
                    formats.moment(line.started, self.tz) if line.started else "",
                    formats.moment(line.ended, self.tz) if line.ended else "",
                    machine_name(line) + self.session_marks(line),
                    self.hours(line.running_ms),
                    self.hours(line.unlocked_ms),
                    self.kwh(line.energy_mwh),
                    self.money(line.net_cents),
                ]
            )
        widths = [26 * mm, 26 * mm, 30 * mm, 23 * mm, 23 * mm, 22 * mm, 24 * mm]
        return [
            Paragraph(self.say(Word.SESSION_LIST), _HEADING),
            RowGrid(rows[0], rows[1:], widths, left=3),
        ]

    def session_marks(self, line: Line) -> str:
        """The marks of a session's notes: the minimum charge, a session split at month end."""
        notes = (line.note or "").split(",")
        marks = ""
        if "minimum" in notes:
            marks += self.footnotes.mark("minimum", self.say(Word.MINIMUM))
        if "split" in notes:
            marks += self.footnotes.mark("split", self.say(Word.SPLIT))
        return marks

    def notes(self) -> list[Flowable]:
        """The notes of the marks used above, one a line; nothing when no mark was used."""
        notes = self.footnotes.notes
        if not notes:
            return []
        text = "<br/>".join(f"{mark} {_escape(note)}" for mark, note in notes)
        return [Paragraph(self.say(Word.NOTES), _HEADING), Paragraph(text, _SMALL)]

    def story(self) -> list[Flowable]:
        body = [
            *self.header(),
            *self.machine_time(),
            *self.plan(),
            *self.packs(),
            *self.shared_costs(),
            *self.consumables(),
            *self.bookings(),
            *self.credits(),
            *self.totals(),
            *self.payment(),
            *self.session_list(),
        ]
        return [*body, *self.notes()]


def machine_name(line: Line) -> str:
    """The machine as the line names it: its name when drafted, else (older lines) its id."""
    return line.name or line.machine or ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _png(data: bytes) -> IO[bytes]:
    return io.BytesIO(data)


class NumberedCanvas(Canvas):
    """A canvas that writes "Page x / y" on every page once it knows how many there are.

    Pages are kept as they are drawn and written out at `save`, when the count is known.
    """

    def __init__(self, filename: str | IO[bytes], *, page_label: str, **options: Any) -> None:
        super().__init__(filename, **options)
        self.page_label = page_label
        self.pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        """Keep the page drawn so far; it is written at `save`."""
        self.pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # reportlab has it; its stubs do not

    def save(self) -> None:
        """Number every kept page "x / y", then write them all."""
        total = len(self.pages)
        for number, page in enumerate(self.pages, start=1):
            self.__dict__.update(page)
            self.saveState()
            self.setFont("Helvetica", 7)
            self.drawRightString(A4[0] - MARGIN, 10 * mm, f"{self.page_label} {number} / {total}")
            self.restoreState()
            super().showPage()
        super().save()


def statement_pdf(
    statement: StoredStatement,
    *,
    workshop: Workshop,
    tz: ZoneInfo,
    fiscal: FiscalContext | None = None,
    from_credit: CreditPayment | None = None,
) -> bytes:
    """The statement as an A4 PDF; with a fiscal context, the document a treasurer files; with
    `from_credit`, what the member's credit paid of it, what is still owed and the credit left."""
    render = _Render(statement, workshop, tz, fiscal, from_credit)
    out = io.BytesIO()
    draft = statement.status is StatementStatus.DRAFT
    page_label = render.say(Word.PAGE)
    sender = fiscal.workshop.legal_name if fiscal is not None else workshop.name
    footer = f"{sender} · {render.title()}"

    def decorate(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(MARGIN, 10 * mm, footer)
        if draft:
            canvas.setFont("Helvetica-Bold", 60)
            canvas.setFillColor(colors.Color(0.85, 0.85, 0.85))
            canvas.translate(A4[0] / 2, A4[1] / 2)
            canvas.rotate(45)
            canvas.drawCentredString(0, 0, render.say(Word.DRAFT))
        canvas.restoreState()

    def numbered(filename: str | IO[bytes], /, **options: Any) -> Canvas:
        return NumberedCanvas(filename, page_label=page_label, **options)

    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=render.title(),
        author=sender,
    )
    try:
        document.build(
            render.story(), onFirstPage=decorate, onLaterPages=decorate, canvasmaker=numbered
        )
    except (OSError, ValueError) as err:
        raise RenderError(f"PDF of {render.title()}: {err}") from err
    return out.getvalue()
