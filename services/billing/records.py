"""Statements as stored and rendered: a header and its lines, independent of the database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from services.billing.engine import MemberStatement, VatLine
from services.billing.money import vat_cents
from services.billing.usage import instant


class StatementKind(StrEnum):
    """A monthly statement, or a credit note correcting an issued one."""

    STATEMENT = "statement"
    CREDIT_NOTE = "credit_note"


class StatementStatus(StrEnum):
    """Drafts can be made again; issued statements never change."""

    DRAFT = "draft"
    ISSUED = "issued"


class LineKind(StrEnum):
    """What a statement line is for."""

    SESSION = "session"
    PLAN_FEE = "plan_fee"
    ALLOWANCE = "allowance"
    POOL_SHARE = "pool_share"
    CREDIT = "credit"
    BOOKING_FEE = "booking_fee"
    NO_SHOW = "no_show"
    PACK_DRAW = "pack_draw"
    PACK = "pack"
    CONSUMABLE = "consumable"


# Lines that carry a quantity and no money: they add no VAT rate of their own.
INFORMATION_KINDS = frozenset({LineKind.ALLOWANCE, LineKind.PACK_DRAW})


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One line; the quantity fields used depend on the kind (see `lines_of`)."""

    kind: LineKind
    net_cents: int
    vat_bp: int = 0
    reference: str | None = None
    # The machine's name as the registry had it when the line was drafted.
    name: str | None = None
    site: str | None = None
    machine: str | None = None
    session_id: str | None = None
    started: datetime | None = None
    ended: datetime | None = None
    day: date | None = None
    running_ms: int | None = None
    unlocked_ms: int | None = None
    energy_mwh: int | None = None
    free_ms: int | None = None
    key: str | None = None
    quantity: int | None = None
    key_total: int | None = None
    note: str | None = None


def lines_of(statement: MemberStatement) -> list[Line]:
    """The lines of a computed statement: sessions, plan fees, allowances, pool shares,
    consumables (whose `key` is the unit and `key_total` the unit price in cents) and bookings
    (a fee for each used, a charge for each no-show; `reference` is the booking's id)."""
    lines: list[Line] = []
    for charge in statement.charges:
        piece = charge.piece
        session = piece.session
        lines.append(
            Line(
                kind=LineKind.SESSION,
                net_cents=charge.cents,
                vat_bp=charge.tariff.vat_bp,
                reference=session.id,
                site=session.site,
                machine=session.machine,
                session_id=session.id,
                started=instant(piece.started_ms),
                ended=instant(piece.ended_ms),
                day=charge.day,
                running_ms=piece.running_ms,
                unlocked_ms=piece.unlocked_ms,
                energy_mwh=piece.energy_mwh,
                free_ms=charge.free_running_ms,
                note=_session_note(charge.minimum_applied, piece.whole),
            )
        )
    for fee in statement.fees:
        lines.append(
            Line(
                kind=LineKind.PLAN_FEE,
                net_cents=fee.cents,
                vat_bp=fee.vat_bp,
                reference=fee.plan,
                quantity=fee.days,
                key_total=fee.month_days,
            )
        )
    for use in statement.allowances:
        lines.append(
            Line(
                kind=LineKind.ALLOWANCE,
                net_cents=0,
                reference=use.plan,
                site=use.allowance.site,
                machine=use.allowance.machine,
                key=use.allowance.meter.value,
                quantity=use.used,
                key_total=use.granted,
            )
        )
    for share in statement.shares:
        lines.append(
            Line(
                kind=LineKind.POOL_SHARE,
                net_cents=share.cents,
                vat_bp=share.pool.vat_bp,
                reference=share.pool.name,
                key=share.key.value,
                quantity=share.quantity,
                key_total=share.key_total,
                note="remainder" if share.remainder else None,
            )
        )
    for take in statement.consumables:
        lines.append(
            Line(
                kind=LineKind.CONSUMABLE,
                net_cents=take.net_cents,
                vat_bp=take.vat_bp,
                reference=take.item,
                site=take.site,
                machine=take.machine,
                day=take.day,
                key=take.unit,
                quantity=take.quantity,
                key_total=take.unit_price_cents,
            )
        )
    for booked in statement.bookings:
        booking = booked.booking
        lines.append(
            Line(
                kind=LineKind.NO_SHOW if booked.no_show else LineKind.BOOKING_FEE,
                net_cents=booked.net_cents,
                vat_bp=booked.vat_bp,
                reference=str(booking.id),
                site=booking.site,
                machine=booking.machine,
                started=booking.starts_at,
                day=booking.day,
                quantity=1,
            )
        )
    for sale in statement.pack_sales:
        lines.append(
            Line(
                kind=LineKind.PACK,
                net_cents=sale.cents,
                vat_bp=sale.vat_bp,
                reference=str(sale.pack),
                key=sale.meter.value,
                quantity=sale.quantity,
                note=sale.name,
            )
        )
    # What the sessions took from packs: information, no money (the pack itself was invoiced).
    for draw in statement.pack_draws:
        lines.append(
            Line(
                kind=LineKind.PACK_DRAW,
                net_cents=0,
                reference=str(draw.pack),
                key=draw.meter.value,
                quantity=draw.quantity,
                note=draw.name,
            )
        )
    return lines


def _session_note(minimum: bool, whole: bool) -> str | None:
    notes = [word for word, applies in (("minimum", minimum), ("split", not whole)) if applies]
    return ",".join(notes) or None


def vat_summary(lines: Iterable[Line]) -> tuple[VatLine, ...]:
    """Net and VAT per rate of some lines, by the one rounding rule."""
    by_rate: defaultdict[int, int] = defaultdict(int)
    for line in lines:
        if line.net_cents or line.kind not in INFORMATION_KINDS:
            by_rate[line.vat_bp] += line.net_cents
    return tuple(VatLine(rate, net, vat_cents(net, rate)) for rate, net in sorted(by_rate.items()))


@dataclass(frozen=True, kw_only=True)
class StoredStatement:
    """A statement or credit note as the ledger keeps it."""

    id: int
    kind: StatementKind
    status: StatementStatus
    member: str
    member_name: str
    member_email: str | None
    month: str
    revision: int
    number: str | None
    credits_number: str | None
    reason: str | None
    locale: str
    currency: str
    net_cents: int
    vat_cents: int
    total_cents: int
    made_at: datetime
    issued_at: datetime | None
    emailed_at: datetime | None
    lines: tuple[Line, ...]
    # The billing party it is made out to, as drafted (None: the member had none).
    party_id: int | None = None
    party_label: str | None = None

    @property
    def vat(self) -> tuple[VatLine, ...]:
        """Net and VAT per rate."""
        return vat_summary(self.lines)

    def lines_of_kind(self, kind: LineKind) -> list[Line]:
        """The lines of one kind, in order."""
        return [line for line in self.lines if line.kind is kind]
