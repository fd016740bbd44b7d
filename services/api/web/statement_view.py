"""A statement's lines as the treasurer reads them: names, quantities with units, words.

Machine names come from the line (kept when it was drafted); lines drafted before names were
kept fall back to the registry's name now, then to the id. End reasons are the sessions' own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from services.billing import formats
from services.billing.allocation import KEY_RULES, AllocationKey
from services.billing.records import Line, LineKind, StoredStatement
from services.billing.tariffs import METER_UNITS, Meter

MS_PER_MINUTE = 60_000
MWH_PER_KWH = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionLine:
    """A session billed: when, where, how long, how much energy, why it ended, for how much."""

    started: datetime | None
    ended: datetime | None
    machine: str
    running: str
    unlocked: str
    energy: str
    end_reason: str | None
    minimum: bool
    split: bool
    cents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareLine:
    """A share of a cost pool: the pool's name, its key, the member's part of the whole."""

    pool: str
    key: str
    remainder: bool
    quantity: str
    of_total: str
    cents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanLine:
    """A plan's fee (days of the month), an allowance drawn (used of granted), a pack sold or
    what was drawn from one."""

    kind: str
    plan: str
    machine: str | None
    quantity: str
    cents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditLine:
    """A credit: the statement it corrects and why."""

    reference: str
    reason: str
    rate: str
    cents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumableLine:
    """Material taken: the day, the item, where, how much in its unit, at what unit price."""

    day: date | None
    item: str
    machine: str
    quantity: str
    unit_price_cents: int
    rate: str
    cents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VatRow:
    """Net and VAT at one rate."""

    rate: str
    net_cents: int
    vat_cents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingLine:
    """A booking charged: when it started, the machine, used or a no-show, rate and amount."""

    started: datetime | None
    machine: str
    no_show: bool
    rate: str
    cents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementView:
    """Everything the statement page shows of the lines, grouped as the PDF groups them."""

    sessions: tuple[SessionLine, ...]
    shares: tuple[ShareLine, ...]
    plans: tuple[PlanLine, ...]
    credits: tuple[CreditLine, ...]
    vat: tuple[VatRow, ...]
    consumables: tuple[ConsumableLine, ...] = ()
    bookings: tuple[BookingLine, ...] = ()


def _quantity(base: int | None, per_unit: int, unit: str, lang: str, places: int = 1) -> str:
    text = formats.quantity(base or 0, per_unit, lang, places=places)
    return f"{text} {unit}".strip()


def statement_view(
    statement: StoredStatement,
    *,
    lang: str,
    machine_names: Mapping[str, str],
    end_reasons: Mapping[str, str],
) -> StatementView:
    """The statement's lines in the page's language."""

    def machine(line: Line) -> str:
        return line.name or machine_names.get(line.machine or "") or line.machine or ""

    sessions = tuple(
        SessionLine(
            started=line.started,
            ended=line.ended,
            machine=machine(line),
            running=_quantity(line.running_ms, MS_PER_MINUTE, "min", lang),
            unlocked=_quantity(line.unlocked_ms, MS_PER_MINUTE, "min", lang),
            energy=_quantity(line.energy_mwh, MWH_PER_KWH, "kWh", lang, places=2),
            end_reason=end_reasons.get(line.session_id or ""),
            minimum="minimum" in (line.note or "").split(","),
            split="split" in (line.note or "").split(","),
            cents=line.net_cents,
        )
        for line in statement.lines_of_kind(LineKind.SESSION)
    )
    shares = []
    for line in statement.lines_of_kind(LineKind.POOL_SHARE):
        key = AllocationKey(line.key) if line.key else AllocationKey.EQUAL
        rule = KEY_RULES[key]
        places = 2 if rule.base_per_unit > 1 else 0
        shares.append(
            ShareLine(
                pool=line.reference or "",
                key=key.value,
                remainder=line.note == "remainder",
                quantity=_quantity(line.quantity, rule.base_per_unit, rule.unit, lang, places),
                of_total=_quantity(line.key_total, rule.base_per_unit, rule.unit, lang, places),
                cents=line.net_cents,
            )
        )
    plans = [
        PlanLine(
            kind="fee",
            plan=line.reference or "",
            machine=None,
            quantity=f"{line.quantity}/{line.key_total}",
            cents=line.net_cents,
        )
        for line in statement.lines_of_kind(LineKind.PLAN_FEE)
    ]
    for line in statement.lines_of_kind(LineKind.ALLOWANCE):
        unit = METER_UNITS[Meter(line.key) if line.key else Meter.RUNNING_MINUTES]
        used = formats.quantity(line.quantity or 0, unit.base_per_unit, lang)
        granted = formats.quantity(line.key_total or 0, unit.base_per_unit, lang)
        plans.append(
            PlanLine(
                kind="allowance",
                plan=line.reference or "",
                machine=machine(line) or None,
                quantity=f"{used}/{granted} {unit.symbol}",
                cents=line.net_cents,
            )
        )
    for line in statement.lines_of_kind(LineKind.PACK):
        unit = METER_UNITS[Meter(line.key) if line.key else Meter.RUNNING_MINUTES]
        plans.append(
            PlanLine(
                kind="pack",
                plan=line.note or line.reference or "",
                machine=None,
                quantity=f"{formats.quantity(line.quantity or 0, unit.base_per_unit, lang)}"
                f" {unit.symbol}",
                cents=line.net_cents,
            )
        )
    for line in statement.lines_of_kind(LineKind.PACK_DRAW):
        unit = METER_UNITS[Meter(line.key) if line.key else Meter.RUNNING_MINUTES]
        plans.append(
            PlanLine(
                kind="pack_draw",
                plan=line.note or line.reference or "",
                machine=None,
                quantity=f"{formats.quantity(line.quantity or 0, unit.base_per_unit, lang)}"
                f" {unit.symbol}",
                cents=line.net_cents,
            )
        )
    credits = tuple(
        CreditLine(
            reference=line.reference or "",
            reason=line.note or "",
            rate=formats.rate(line.vat_bp, lang),
            cents=line.net_cents,
        )
        for line in statement.lines_of_kind(LineKind.CREDIT)
    )
    consumables = tuple(
        ConsumableLine(
            day=line.day,
            item=line.reference or "",
            machine=machine(line),
            quantity=f"{line.quantity or 0} {line.key or ''}".strip(),
            unit_price_cents=line.key_total or 0,
            rate=formats.rate(line.vat_bp, lang),
            cents=line.net_cents,
        )
        for line in statement.lines_of_kind(LineKind.CONSUMABLE)
    )
    bookings = tuple(
        BookingLine(
            started=line.started,
            machine=machine(line),
            no_show=line.kind is LineKind.NO_SHOW,
            rate=formats.rate(line.vat_bp, lang),
            cents=line.net_cents,
        )
        for line in statement.lines
        if line.kind in (LineKind.BOOKING_FEE, LineKind.NO_SHOW)
    )
    vat = tuple(
        VatRow(rate=formats.rate(v.vat_bp, lang), net_cents=v.net_cents, vat_cents=v.vat_cents)
        for v in statement.vat
    )
    return StatementView(
        sessions=sessions,
        shares=tuple(shares),
        plans=tuple(plans),
        credits=credits,
        vat=vat,
        consumables=consumables,
        bookings=bookings,
    )
