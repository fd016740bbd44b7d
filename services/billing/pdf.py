"""Statements as A4 PDFs: the workshop's header, the month's lines, VAT, total, the sessions.

Rendered from the stored statement, never recomputed, so an issued statement prints the same
every time. Labels come from `wording`, numbers and dates from Babel via `formats`.
"""

from __future__ import annotations

import io
from collections import defaultdict
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

from services.billing import formats
from services.billing.allocation import KEY_RULES, AllocationKey
from services.billing.errors import RenderError
from services.billing.months import Month
from services.billing.records import Line, LineKind, StatementKind, StatementStatus, StoredStatement
from services.billing.settings import Workshop
from services.billing.tariffs import METER_UNITS, Meter
from services.billing.wording import Word, say

MARGIN = 18 * mm
_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=9, leading=11)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=9.5)
_TITLE = ParagraphStyle("title", parent=_STYLES["Heading1"], fontSize=16, spaceAfter=2)
_HEADING = ParagraphStyle("heading", parent=_STYLES["Heading2"], fontSize=11, spaceBefore=8)
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

    def __init__(self, statement: StoredStatement, workshop: Workshop, tz: ZoneInfo) -> None:
        self.statement = statement
        self.workshop = workshop
        self.tz = tz
        self.language = statement.locale

    def say(self, word: Word) -> str:
        return say(word, self.language)

    def money(self, cents: int) -> str:
        return formats.money(cents, self.statement.currency, self.language)

    def minutes(self, ms: int | None) -> str:
        return formats.quantity(ms or 0, 60_000, self.language)

    def kwh(self, mwh: int | None) -> str:
        return formats.quantity(mwh or 0, 1_000_000, self.language, places=2)

    def title(self) -> str:
        kind = (
            Word.CREDIT_NOTE if self.statement.kind is StatementKind.CREDIT_NOTE else Word.STATEMENT
        )
        number = self.statement.number or self.say(Word.DRAFT)
        return f"{self.say(kind)} {number}"

    def header(self) -> list[Flowable]:
        statement, workshop = self.statement, self.workshop
        sender = [f"<b>{_escape(workshop.name)}</b>", *map(_escape, workshop.address)]
        if workshop.vat_number:
            sender.append(f"P. IVA {_escape(workshop.vat_number)}")
        if workshop.email:
            sender.append(_escape(workshop.email))
        logo: Flowable = Spacer(1, 1)
        if workshop.logo is not None:
            logo = Image(str(workshop.logo), width=30 * mm, height=30 * mm, kind="proportional")
        top = Table(
            [[logo, Paragraph("<br/>".join(sender), _BODY)]],
            colWidths=[40 * mm, None],
            style=[("VALIGN", (0, 0), (-1, -1), "TOP")],
        )
        month = Month.parse(statement.month)
        who = f"<b>{_escape(statement.member_name)}</b> ({statement.member})"
        facts = [
            f"{self.say(Word.MEMBER)}: {who}",
            f"{self.say(Word.PERIOD)}: {formats.month_name(month, self.language)}",
        ]
        if statement.issued_at is not None:
            issued = statement.issued_at.astimezone(self.tz).date()
            facts.append(f"{self.say(Word.ISSUED)}: {formats.long_day(issued, self.language)}")
        if statement.credits_number:
            facts.append(f"{self.say(Word.CREDITS)}: {statement.credits_number}")
        if statement.reason:
            facts.append(f"{self.say(Word.REASON)}: {_escape(statement.reason)}")
        return [
            top,
            Spacer(1, 4 * mm),
            Paragraph(self.title(), _TITLE),
            Paragraph("<br/>".join(facts), _BODY),
        ]

    def machine_time(self) -> list[Flowable]:
        sessions = self.statement.lines_of_kind(LineKind.SESSION)
        if not sessions:
            return []
        sums: defaultdict[str, list[int]] = defaultdict(lambda: [0] * 6)
        for line in sessions:
            row = sums[machine_name(line)]
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
            Word.AMOUNT,
        )
        rows = [[self.say(word) for word in words]]
        for machine, (count, running, unlocked, energy, free, cents) in sorted(sums.items()):
            rows.append(
                [
                    machine,
                    str(count),
                    self.minutes(running),
                    self.minutes(unlocked),
                    self.kwh(energy),
                    self.minutes(free),
                    self.money(cents),
                ]
            )
        widths = [40 * mm, 16 * mm, 24 * mm, 24 * mm, 22 * mm, 20 * mm, 28 * mm]
        return [Paragraph(self.say(Word.MACHINE_TIME), _HEADING), _table(rows, widths)]

    def plan(self) -> list[Flowable]:
        rows: list[list[str]] = []
        for line in self.statement.lines_of_kind(LineKind.PLAN_FEE):
            days = f"{line.quantity}/{line.key_total} {self.say(Word.DAYS)}"
            rows.append(
                [f"{self.say(Word.PLAN)} {line.reference}", days, self.money(line.net_cents)]
            )
        for line in self.statement.lines_of_kind(LineKind.ALLOWANCE):
            meter = Meter(line.key) if line.key else Meter.RUNNING_MINUTES
            unit = METER_UNITS[meter]
            used = formats.quantity(line.quantity or 0, unit.base_per_unit, self.language)
            granted = formats.quantity(line.key_total or 0, unit.base_per_unit, self.language)
            where = machine_name(line) or "*"
            rows.append(
                [
                    f"{self.say(Word.ALLOWANCE)} ({line.reference}, {where})",
                    f"{used}/{granted} {unit.symbol} {self.say(Word.USED)}",
                    "",
                ]
            )
        if not rows:
            return []
        rows.insert(0, [self.say(Word.PLAN), "", self.say(Word.AMOUNT)])
        return [Paragraph(self.say(Word.PLAN), _HEADING), _table(rows, [90 * mm, 56 * mm, 28 * mm])]

    def shared_costs(self) -> list[Flowable]:
        shares = self.statement.lines_of_kind(LineKind.POOL_SHARE)
        if not shares:
            return []
        words = (Word.POOL, Word.KEY, Word.YOUR_QUANTITY, Word.OF_TOTAL, Word.AMOUNT)
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
                    self.money(line.net_cents),
                ]
            )
        widths = [46 * mm, 50 * mm, 25 * mm, 25 * mm, 28 * mm]
        return [Paragraph(self.say(Word.SHARED_COSTS), _HEADING), _table(rows, widths)]

    def credits(self) -> list[Flowable]:
        lines = self.statement.lines_of_kind(LineKind.CREDIT)
        if not lines:
            return []
        rows = [[self.say(Word.CREDIT), self.say(Word.RATE), self.say(Word.AMOUNT)]]
        for line in lines:
            rows.append(
                [
                    f"{line.reference or ''} {_escape(line.note or '')}",
                    formats.rate(line.vat_bp, self.language),
                    self.money(line.net_cents),
                ]
            )
        return [
            Paragraph(self.say(Word.CREDIT), _HEADING),
            _table(rows, [110 * mm, 36 * mm, 28 * mm]),
        ]

    def totals(self) -> list[Flowable]:
        statement = self.statement
        rows = [[self.say(Word.RATE), self.say(Word.NET), self.say(Word.VAT)]]
        for vat in statement.vat:
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
        return [Spacer(1, 5 * mm), table]

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
                    machine_name(line) + _note_mark(line),
                    self.minutes(line.running_ms),
                    self.minutes(line.unlocked_ms),
                    self.kwh(line.energy_mwh),
                    self.money(line.net_cents),
                ]
            )
        widths = [26 * mm, 26 * mm, 30 * mm, 23 * mm, 23 * mm, 20 * mm, 24 * mm]
        notes = f"* {self.say(Word.MINIMUM)}   † {self.say(Word.SPLIT)}"
        return [
            Paragraph(self.say(Word.SESSION_LIST), _HEADING),
            RowGrid(rows[0], rows[1:], widths, left=3),
            Paragraph(notes, _SMALL),
        ]

    def story(self) -> list[Flowable]:
        return [
            *self.header(),
            *self.machine_time(),
            *self.plan(),
            *self.shared_costs(),
            *self.credits(),
            *self.totals(),
            *self.session_list(),
        ]


def machine_name(line: Line) -> str:
    """The machine as the line names it: its name when drafted, else (older lines) its id."""
    return line.name or line.machine or ""


def _note_mark(line: Line) -> str:
    notes = (line.note or "").split(",")
    return ("*" if "minimum" in notes else "") + ("†" if "split" in notes else "")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def statement_pdf(statement: StoredStatement, *, workshop: Workshop, tz: ZoneInfo) -> bytes:
    """The statement as an A4 PDF."""
    render = _Render(statement, workshop, tz)
    out = io.BytesIO()
    draft = statement.status is StatementStatus.DRAFT
    page_word = render.say(Word.PAGE)
    footer = f"{workshop.name} · {render.title()}"

    def decorate(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(MARGIN, 10 * mm, footer)
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, f"{page_word} {document.page}")
        if draft:
            canvas.setFont("Helvetica-Bold", 60)
            canvas.setFillColor(colors.Color(0.85, 0.85, 0.85))
            canvas.translate(A4[0] / 2, A4[1] / 2)
            canvas.rotate(45)
            canvas.drawCentredString(0, 0, render.say(Word.DRAFT))
        canvas.restoreState()

    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=render.title(),
        author=workshop.name,
    )
    try:
        document.build(render.story(), onFirstPage=decorate, onLaterPages=decorate)
    except (OSError, ValueError) as err:
        raise RenderError(f"PDF of {render.title()}: {err}") from err
    return out.getvalue()
