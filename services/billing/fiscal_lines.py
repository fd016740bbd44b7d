"""How a statement line reads on a fiscal document: its words, quantity, unit and Natura.

Billing keeps no Natura and no priced meter on a line; both come from rules given as arguments,
pure functions of the line (`NaturaRules`, `meters_from_tariffs`), so wiring in the workshop's
own rules later is one argument. Money stays integer cents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from types import MappingProxyType

from services.billing.allocation import largest_remainder
from services.billing.records import INFORMATION_KINDS, Line, LineKind, StoredStatement
from services.billing.tariffs import Meter, TariffBook
from services.fiscal.document import DocumentLine
from services.fiscal.natura import Natura
from services.fiscal.wording import Locale

# A 0 % line with no rule of its own: not subject to VAT, other cases (art. 4 c. 4 DPR 633/72
# for an association's members, art. 2 or 3 otherwise). The treasurer names the right code per
# plan, pool or kind of line with `NaturaRules`; the default only keeps a document writable.
DEFAULT_NATURA = Natura.N2_2
MAX_DESCRIPTION = 1000
_MS_PER_HOUR = Decimal(3_600_000)
_MWH_PER_KWH = Decimal(1_000_000)
_QUANTITY_PLACES = Decimal("1E-8")
_ONE = Decimal(1)


@dataclass(frozen=True)
class NaturaRules:
    """Which Natura a 0 % line has: by its pool, its plan, its kind, else the default.

    Rules as data, and a pure function of the line: `NaturaRules(by_pool={"rent": Natura.N4})`.
    """

    default: Natura = DEFAULT_NATURA
    by_pool: Mapping[str, Natura] = field(default_factory=dict)
    by_plan: Mapping[str, Natura] = field(default_factory=dict)
    by_kind: Mapping[LineKind, Natura] = field(default_factory=dict)

    def __call__(self, line: Line) -> Natura:
        """The Natura of one 0 % line."""
        named = {LineKind.POOL_SHARE: self.by_pool, LineKind.PLAN_FEE: self.by_plan}.get(line.kind)
        if named is not None and line.reference is not None and line.reference in named:
            return named[line.reference]
        return self.by_kind.get(line.kind, self.default)


NaturaOf = Callable[[Line], Natura]
MeterOf = Callable[[Line], Meter | None]
DEFAULT_RULES = NaturaRules()
NO_NAMES: Mapping[tuple[str, str], str] = MappingProxyType({})


def running_time(line: Line) -> Meter | None:
    """The default meter of a session line: running time, what most workshops charge for."""
    return Meter.RUNNING_MINUTES


def meters_from_tariffs(book: TariffBook, *, plan: str | None = None) -> MeterOf:
    """The meter each session line was priced by, from the tariff of its machine and day.

    A tariff that prices several meters (minutes and kWh) has no single unit: None, and the
    line is written as one session.
    """

    def meter_of(line: Line) -> Meter | None:
        if line.site is None or line.machine is None or line.day is None:
            return None
        tariff = book.price_on(site=line.site, machine=line.machine, plan=plan, day=line.day)
        meters = tariff.priced_meters
        return meters[0] if len(meters) == 1 else None

    return meter_of


@dataclass(frozen=True)
class LineWords:
    """How a statement line is described on a fiscal document, in one language."""

    session: str
    running: str
    unlocked: str
    minimum: str
    split: str
    plan_fee: str
    part_of_month: str
    pool_share: str
    remainder: str
    credit: str
    credit_of: str
    month_unit: str
    piece_unit: str
    consumable: str
    booking_fee: str
    no_show: str


LINE_WORDS: Mapping[Locale, LineWords] = MappingProxyType(
    {
        Locale.IT: LineWords(
            session="Uso {machine} del {day}",
            running="{hours} h in funzione",
            unlocked="{hours} h sbloccata",
            minimum="minimo per sessione",
            split="parte della sessione nel mese",
            plan_fee="Quota mensile piano {plan}",
            part_of_month="{days} giorni su {month_days}",
            pool_share="Quota spese comuni: {pool}",
            remainder="parte non misurata",
            credit="Storno",
            credit_of="Storno fattura {number}",
            month_unit="mese",
            piece_unit="n.",
            consumable="Materiale: {item}",
            booking_fee="Prenotazione {machine} del {day}",
            no_show="Prenotazione mancata {machine} del {day}",
        ),
        Locale.EN: LineWords(
            session="Use of {machine} on {day}",
            running="{hours} h running",
            unlocked="{hours} h unlocked",
            minimum="minimum per session",
            split="part of the session in the month",
            plan_fee="Monthly fee, plan {plan}",
            part_of_month="{days} of {month_days} days",
            pool_share="Share of shared costs: {pool}",
            remainder="unmetered part",
            credit="Credit",
            credit_of="Credit of invoice {number}",
            month_unit="month",
            piece_unit="n.",
            consumable="Material: {item}",
            booking_fee="Booking of {machine} on {day}",
            no_show="No-show, booking of {machine} on {day}",
        ),
    }
)


@dataclass(frozen=True, slots=True)
class FiscalLine:
    """A statement line with the Natura its document gives it (None: a line with VAT)."""

    line: Line
    natura: Natura | None


def fiscal_lines(
    statement: StoredStatement,
    *,
    natura_of: NaturaOf = DEFAULT_RULES,
    original: StoredStatement | None = None,
) -> list[FiscalLine]:
    """The lines that carry money, each with its Natura; allowance lines (no money) left out.

    A credit note's 0 % line takes the Natura of the 0 % lines it credits: when the original's
    0 % lines have several, the credit is split among them in their proportions (largest
    remainder), so a whole credit gives back each one exactly.
    """
    out: list[FiscalLine] = []
    for line in statement.lines:
        if line.kind in INFORMATION_KINDS:
            continue
        if line.vat_bp:
            out.append(FiscalLine(line, None))
        elif line.kind is LineKind.CREDIT and original is not None:
            out.extend(_credited_natura(line, original, natura_of))
        else:
            out.append(FiscalLine(line, natura_of(line)))
    return out


def _credited_natura(
    line: Line, original: StoredStatement, natura_of: NaturaOf
) -> list[FiscalLine]:
    by_natura: dict[Natura, int] = {}
    for credited in fiscal_lines(original, natura_of=natura_of):
        if credited.natura is not None:
            by_natura[credited.natura] = by_natura.get(credited.natura, 0) + credited.line.net_cents
    charged = {natura: cents for natura, cents in by_natura.items() if cents > 0}
    if len(charged) <= 1 or line.net_cents > 0:
        natura = next(iter(charged), None) or natura_of(line)
        return [FiscalLine(line, natura)]
    # A part of several Natura codes is taken back in their proportions, no cent lost.
    split = largest_remainder(-line.net_cents, {n.value: c for n, c in charged.items()})
    return [
        FiscalLine(replace(line, net_cents=-split[natura.value]), natura)
        for natura in charged
        if split.get(natura.value)
    ]


def document_line(
    fiscal: FiscalLine,
    sign: int,
    words: LineWords,
    meter_of: MeterOf,
    machine_names: Mapping[tuple[str, str], str],
) -> DocumentLine:
    """One `DettaglioLinee`: the line in words, its quantity in the tariff's unit, its VAT.

    `sign` is -1 for a credit note, whose document carries what it takes back as positive.
    """
    line = fiscal.line
    total = sign * line.net_cents
    description = _description(line, words, machine_names)
    quantity, unit = _quantity(line, meter_of, words)
    unit_price = total
    if quantity != _ONE:
        with localcontext() as context:
            context.prec = 60
            unit_price = int((Decimal(total) / quantity).quantize(_ONE, rounding=ROUND_HALF_UP))
            # The SdI allows a cent between quantity × price and the total, no more: a long
            # session at a price with fractions of a cent is written as one session instead.
            if abs(quantity * unit_price - total) > 1:
                quantity, unit, unit_price = _ONE, words.piece_unit, total
    return DocumentLine(
        description=description,
        quantity=quantity,
        unit=unit,
        unit_price_cents=unit_price,
        total_cents=total,
        vat_rate=Decimal(line.vat_bp) / 100,
        natura=fiscal.natura,
    )


def _quantity(line: Line, meter_of: MeterOf, words: LineWords) -> tuple[Decimal, str]:
    if line.kind is LineKind.PLAN_FEE:
        return _ONE, words.month_unit
    if line.kind is LineKind.CONSUMABLE and line.quantity:
        # Priced per unit in whole cents: quantity times unit price is the total, exactly.
        return Decimal(line.quantity), _latin(line.key or words.piece_unit)[:10]
    if line.kind is not LineKind.SESSION:
        return _ONE, words.piece_unit
    meter = meter_of(line)
    if meter is Meter.KWH:
        quantity, unit = Decimal(line.energy_mwh or 0) / _MWH_PER_KWH, "kWh"
    elif meter is Meter.RUNNING_MINUTES:
        quantity, unit = _hours((line.running_ms or 0) - (line.free_ms or 0)), "h"
    elif meter is Meter.UNLOCKED_MINUTES:
        quantity, unit = _hours(line.unlocked_ms or 0), "h"
    else:
        return _ONE, words.piece_unit
    if quantity <= 0:
        return _ONE, words.piece_unit
    return quantity, unit


def _hours(ms: int) -> Decimal:
    with localcontext() as context:
        context.prec = 60
        return (Decimal(ms) / _MS_PER_HOUR).quantize(_QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def _description(line: Line, words: LineWords, names: Mapping[tuple[str, str], str]) -> str:
    if line.kind is LineKind.SESSION:
        machine = line.name or names.get((line.site or "", line.machine or "")) or line.machine
        day = line.day.strftime("%d/%m/%Y") if line.day is not None else ""
        parts = [words.session.format(machine=machine, day=day)]
        if line.running_ms:
            parts.append(words.running.format(hours=_hours_text(line.running_ms)))
        elif line.unlocked_ms:
            parts.append(words.unlocked.format(hours=_hours_text(line.unlocked_ms)))
        if line.energy_mwh:
            kwh = (Decimal(line.energy_mwh) / _MWH_PER_KWH).quantize(Decimal("0.001"))
            parts.append(f"{kwh} kWh")
        notes = (line.note or "").split(",")
        parts += [words.minimum] * ("minimum" in notes) + [words.split] * ("split" in notes)
        text = ", ".join(parts)
    elif line.kind is LineKind.PLAN_FEE:
        text = words.plan_fee.format(plan=line.reference)
        if line.quantity is not None and line.quantity != line.key_total:
            days = words.part_of_month.format(days=line.quantity, month_days=line.key_total)
            text = f"{text} ({days})"
    elif line.kind is LineKind.POOL_SHARE:
        text = words.pool_share.format(pool=line.reference)
        if line.note == "remainder":
            text = f"{text} ({words.remainder})"
    elif line.kind in (LineKind.BOOKING_FEE, LineKind.NO_SHOW):
        machine = line.name or names.get((line.site or "", line.machine or "")) or line.machine
        day = line.day.strftime("%d/%m/%Y") if line.day is not None else ""
        said = words.no_show if line.kind is LineKind.NO_SHOW else words.booking_fee
        text = said.format(machine=machine, day=day)
    elif line.kind is LineKind.PACK:
        text = line.note or str(line.reference)  # the pack's name in the catalogue
    elif line.kind is LineKind.CONSUMABLE:
        text = words.consumable.format(item=line.reference)
        if line.day is not None:
            text = f"{text}, {line.day.strftime('%d/%m/%Y')}"
    elif line.reference:
        text = words.credit_of.format(number=line.reference)
        if line.note:
            text = f"{text}: {line.note}"
    else:
        text = words.credit
    return _latin(text)[:MAX_DESCRIPTION]


def _hours_text(ms: int) -> str:
    return str((Decimal(ms) / _MS_PER_HOUR).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _latin(text: str) -> str:
    # Names and reasons are typed by people; FatturaPA text is Latin-1 without control codes.
    return "".join(
        ch if 0x20 <= ord(ch) <= 0xFF and not 0x7F <= ord(ch) <= 0x9F else "?" for ch in text
    )
