"""Credit and packs in the ledger: members' credit movements, the pack catalogue, packs bought.

A balance is always summed from the movements; what is left of a pack is its quantity less the
pack-draw lines of the statements that name it. Each public method is one transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.billing.charges import AllowanceBalance, PriceList, charge_piece
from services.billing.errors import BillingInputError, StatementStateError
from services.billing.models import (
    CreditEntryRow,
    MemberPlanRow,
    PackProductRow,
    PackRow,
    PaymentRow,
    PlanRow,
    StatementLineRow,
    StatementRow,
    TariffRow,
)
from services.billing.money import vat_cents
from services.billing.packs import PACK_METERS, PackBalance, PackHolding, PackSale, packs_running_s
from services.billing.prepaid import (
    CreditKind,
    CreditPayment,
    correction_of,
    pay_from_credit,
    running_seconds,
)
from services.billing.reconcile import MatchedBy
from services.billing.records import LineKind, StatementKind, StatementStatus
from services.billing.store.base import StoreBase
from services.billing.store.catalogue import tariff_of
from services.billing.tariffs import Meter, TariffBook
from services.billing.usage import UsageSession, epoch_ms
from services.ledger.models import MachineRow, MemberRow, SessionRow

MAX_TOP_UP_CENTS = 10_000_000  # 100,000.00: a typing slip, not a top-up


@dataclass(frozen=True, slots=True)
class StoredMovement:
    """One movement of a member's credit, with the balance after it."""

    member: str
    id: int
    kind: CreditKind
    amount_cents: int
    balance_after_cents: int
    at: datetime
    by: str | None
    note: str
    payment_id: int | None
    statement_id: int | None


@dataclass(frozen=True, slots=True)
class PackProduct:
    """A pack on sale."""

    id: int
    name: str
    meter: Meter
    quantity: int
    price_cents: int
    vat_bp: int
    valid_days: int
    site: str | None
    machine: str | None
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredPack:
    """A pack a member bought, and what is left of it."""

    id: int
    member: str
    name: str
    meter: Meter
    quantity: int
    left: int
    price_cents: int
    vat_bp: int
    bought_at: datetime
    valid_until: datetime
    site: str | None
    machine: str | None


@dataclass(frozen=True, slots=True)
class GateCredit:
    """What a credit-required member's credit buys at a machine, for her access-list entry."""

    running_s: float | None  # None: running time is free here, credit does not limit it
    counted_until: datetime | None  # when the last session counted in it ended


class PrepaidStore(StoreBase):
    """Members' credit and packs."""

    def gate_credit(
        self, site: str, machine: str, members: Collection[str], *, now: datetime, tz: ZoneInfo
    ) -> dict[str, GateCredit]:
        """For the members whose plan requires credit today: the running time it buys here.

        Her credit less what her sessions not yet on an issued statement cost (priced at their
        tariffs with VAT after what her packs cover, an estimate: the statement is exact), at
        this machine's price with VAT, plus what her packs valid now still hold here: running
        time as it is, energy at the machine's rated power (not counted where it is unknown).
        """
        if not members:
            return {}
        day = now.astimezone(tz).date()
        with self._transaction(f"read credit at {machine}") as db:
            requiring = set(db.scalars(select(PlanRow.name).where(PlanRow.requires_credit)))
            if not requiring:
                return {}
            plan_of: dict[str, tuple[date, str | None]] = {}
            periods = select(MemberPlanRow).where(
                MemberPlanRow.member.in_(list(members)), MemberPlanRow.valid_from <= day
            )
            for period in db.scalars(periods):
                held = plan_of.get(period.member)
                if held is None or held[0] < period.valid_from:
                    plan_of[period.member] = (period.valid_from, period.plan)
            required = {m: plan for m, (_, plan) in plan_of.items() if plan in requiring}
            if not required:
                return {}
            book = TariffBook.of(tariff_of(row) for row in db.scalars(select(TariffRow)))
            machine_row = db.get(MachineRow, (site, machine))
            rated_w = None if machine_row is None else machine_row.rated_w
            out: dict[str, GateCredit] = {}
            for member, plan in sorted(required.items()):
                packs = PackBalance(_issued_left(db, member))
                owed, until = _unbilled(db, member, plan, book, tz, packs)
                tariff = book.price_on(site=site, machine=machine, plan=plan, day=day)
                gross_per_minute = -(
                    -tariff.per_running_minute * (10_000 + tariff.vat_bp) // 10_000
                )
                bought = running_seconds(_balance(db, member) - owed, gross_per_minute)
                if bought is not None:
                    bought += packs_running_s(
                        packs.packs,
                        site=site,
                        machine=machine,
                        at_ms=epoch_ms(now),
                        rated_w=rated_w,
                    )
                out[member] = GateCredit(bought, until)
            return out

    # -- credit ---------------------------------------------------------------------------------

    def top_up(
        self,
        member: str,
        amount_cents: int,
        *,
        by: str,
        note: str = "",
        payment_id: int | None = None,
    ) -> StoredMovement:
        """Record money put on a member's credit (by staff, or a bank credit assigned to it)."""
        if not 0 < amount_cents <= MAX_TOP_UP_CENTS:
            raise BillingInputError(
                "amount", f"must be more than 0 and at most {MAX_TOP_UP_CENTS} cents"
            )
        with self._transaction(f"top up {member}") as db:
            _known_member(db, member)
            row = CreditEntryRow(
                member=member,
                kind=CreditKind.TOP_UP.value,
                amount_cents=amount_cents,
                at=self._clock(),
                by=by[:200],
                note=note[:500],
                payment_id=payment_id,
            )
            db.add(row)
            db.flush()
            return _movements(db, member)[-1]

    def take_back(self, member: str, amount_cents: int, *, by: str, note: str) -> StoredMovement:
        """Take back credit recorded in error, never more than the balance."""
        if not note.strip():
            raise BillingInputError("note", "say why the credit is taken back")
        with self._transaction(f"take back credit of {member}") as db:
            _known_member(db, member)
            movement = correction_of(_balance(db, member), amount_cents)
            db.add(
                CreditEntryRow(
                    member=member,
                    kind=movement.kind.value,
                    amount_cents=movement.amount_cents,
                    at=self._clock(),
                    by=by[:200],
                    note=note[:500],
                )
            )
            db.flush()
            return _movements(db, member)[-1]

    def credit_to_top_up(self, payment_id: int, member: str, *, by: str) -> StoredMovement:
        """Put a waiting bank credit on a member's credit: the payment is settled by it."""
        with self._transaction(f"payment {payment_id} to credit") as db:
            payment = db.get(PaymentRow, payment_id, with_for_update=True)
            if payment is None:
                raise BillingInputError("payment", f"there is no payment {payment_id}")
            if payment.statement_id is not None or payment.not_ours or payment.matched_by:
                raise StatementStateError(f"payment {payment_id} is already settled")
            _known_member(db, member)
            payment.matched_by = MatchedBy.CREDIT.value
            payment.assigned_by = by
            db.add(
                CreditEntryRow(
                    member=member,
                    kind=CreditKind.TOP_UP.value,
                    amount_cents=payment.amount_cents,
                    at=self._clock(),
                    by=by[:200],
                    note=payment.remittance[:500],
                    payment_id=payment_id,
                )
            )
            db.flush()
            return _movements(db, member)[-1]

    def credit_movements(self, member: str) -> list[StoredMovement]:
        """A member's credit movements, oldest first, each with the balance after it."""
        with self._transaction(f"read credit of {member}") as db:
            return _movements(db, member)

    def credit_movements_between(self, start: datetime, end: datetime) -> list[StoredMovement]:
        """Every member's movements made in [start, end), by member then order."""
        with self._transaction("read credit movements") as db:
            members = db.scalars(
                select(CreditEntryRow.member)
                .where(CreditEntryRow.at >= start, CreditEntryRow.at < end)
                .distinct()
            ).all()
            return [
                movement
                for member in sorted(members)
                for movement in _movements(db, member)
                if start <= movement.at < end
            ]

    def credit_balance(self, member: str) -> int:
        """A member's balance: her movements added up."""
        with self._transaction(f"read balance of {member}") as db:
            return _balance(db, member)

    def credit_balances(self) -> dict[str, int]:
        """Every member's balance who ever had a movement."""
        query = select(CreditEntryRow.member, func.sum(CreditEntryRow.amount_cents)).group_by(
            CreditEntryRow.member
        )
        with self._transaction("read balances") as db:
            return {member: int(total) for member, total in db.execute(query)}

    def pay_issued_from_credit(self, statement_ids: list[int]) -> list[CreditPayment]:
        """Draw issued statements from their members' credit, as far as it goes, once each."""
        paid: list[CreditPayment] = []
        with self._transaction("pay statements from credit") as db:
            drawn_already = set(
                db.scalars(
                    select(CreditEntryRow.statement_id).where(
                        CreditEntryRow.statement_id.in_(statement_ids)
                    )
                )
            )
            rows = db.scalars(
                select(StatementRow)
                .where(StatementRow.id.in_(statement_ids))
                .order_by(StatementRow.id)
            )
            for row in rows:
                if (
                    row.id in drawn_already
                    or row.kind != StatementKind.STATEMENT.value
                    or row.status != StatementStatus.ISSUED.value
                ):
                    continue
                payment = pay_from_credit(_balance(db, row.member), row.total_cents)
                movement = payment.movement
                if movement is None:
                    continue
                db.add(
                    CreditEntryRow(
                        member=row.member,
                        kind=movement.kind.value,
                        amount_cents=movement.amount_cents,
                        at=self._clock(),
                        note=row.number or "",
                        statement_id=row.id,
                    )
                )
                db.flush()
                paid.append(payment)
        return paid

    def statement_credit(self, statement_id: int) -> CreditPayment | None:
        """What a statement drew from credit, what it still owes, and the balance after."""
        with self._transaction(f"read credit of statement {statement_id}") as db:
            row = db.get(StatementRow, statement_id)
            if row is None:
                return None
            entry = db.scalar(
                select(CreditEntryRow).where(CreditEntryRow.statement_id == statement_id)
            )
            if entry is None:
                return None
            after = db.scalar(
                select(func.sum(CreditEntryRow.amount_cents)).where(
                    CreditEntryRow.member == entry.member, CreditEntryRow.id <= entry.id
                )
            )
            drawn = -entry.amount_cents
            return CreditPayment(row.total_cents, drawn, row.total_cents - drawn, int(after or 0))

    # -- packs ----------------------------------------------------------------------------------

    def add_pack_product(
        self,
        *,
        name: str,
        meter: Meter,
        quantity: int,
        price_cents: int,
        vat_bp: int,
        valid_days: int,
        site: str | None = None,
        machine: str | None = None,
    ) -> PackProduct:
        """Put a pack on sale; a second pack of the same name is refused."""
        if not name.strip():
            raise BillingInputError("name", "a pack needs a name")
        if meter not in PACK_METERS:
            raise BillingInputError("meter", "a pack holds running_minutes or kwh")
        for field, value, low, high in (
            ("quantity", quantity, 1, 10**12),
            ("price", price_cents, 0, 10**9),
            ("vat", vat_bp, 0, 10_000),
            ("valid_days", valid_days, 1, 3_660),
        ):
            if not low <= value <= high:
                raise BillingInputError(field, f"must be between {low} and {high}")
        with self._transaction("pack product") as db:
            row = PackProductRow(
                name=name.strip(),
                meter=meter.value,
                quantity=quantity,
                price_cents=price_cents,
                vat_bp=vat_bp,
                valid_days=valid_days,
                site=site or "",
                machine=machine or "",
            )
            db.add(row)
            db.flush()
            return _product(row)

    def edit_pack_product(
        self,
        product_id: int,
        *,
        name: str | None = None,
        price_cents: int | None = None,
        valid_days: int | None = None,
    ) -> PackProduct:
        """Change a pack on sale: its name, price or validity, for the packs sold from now on.

        Packs already sold keep the terms they were sold with; a retired pack is not edited.
        """
        if name is not None and not name.strip():
            raise BillingInputError("name", "a pack needs a name")
        for field, value, low, high in (
            ("price", price_cents, 0, 10**9),
            ("valid_days", valid_days, 1, 3_660),
        ):
            if value is not None and not low <= value <= high:
                raise BillingInputError(field, f"must be between {low} and {high}")
        with self._transaction(f"edit pack {product_id}") as db:
            row = _product_on_sale(db, product_id)
            if name is not None and name.strip() != row.name:
                clash = db.scalar(
                    select(PackProductRow.id).where(PackProductRow.name == name.strip())
                )
                if clash is not None:
                    raise BillingInputError("name", f"there is a pack named {name.strip()!r}")
                row.name = name.strip()
            if price_cents is not None:
                row.price_cents = price_cents
            if valid_days is not None:
                row.valid_days = valid_days
            db.flush()
            return _product(row)

    def retire_pack_product(self, product_id: int) -> PackProduct:
        """Take a pack off sale: it can no longer be sold; packs already sold are untouched."""
        with self._transaction(f"retire pack {product_id}") as db:
            row = _product_on_sale(db, product_id)
            row.retired_at = self._clock()
            db.flush()
            return _product(row)

    def pack_product(self, product_id: int) -> PackProduct | None:
        """A pack of the catalogue, on sale or retired; None if there is none."""
        with self._transaction(f"read pack {product_id}") as db:
            row = db.get(PackProductRow, product_id)
            return None if row is None else _product(row)

    def pack_products(self) -> list[PackProduct]:
        """The packs on sale, by name."""
        query = select(PackProductRow).where(PackProductRow.retired_at.is_(None))
        with self._transaction("read pack products") as db:
            return [_product(row) for row in db.scalars(query.order_by(PackProductRow.name))]

    def buy_pack(self, member: str, product_id: int, *, by: str) -> StoredPack:
        """Sell a pack to a member now: valid from now for the product's days."""
        now = self._clock()
        with self._transaction(f"sell a pack to {member}") as db:
            _known_member(db, member)
            product = db.get(PackProductRow, product_id)
            if product is None or product.retired_at is not None:
                raise BillingInputError("product", f"there is no pack {product_id} on sale")
            row = PackRow(
                member=member,
                product_id=product.id,
                name=product.name,
                meter=product.meter,
                quantity=product.quantity,
                price_cents=product.price_cents,
                vat_bp=product.vat_bp,
                site=product.site,
                machine=product.machine,
                bought_at=now,
                valid_until=now + timedelta(days=product.valid_days),
                by=by[:200],
            )
            db.add(row)
            db.flush()
            return _pack(row, row.quantity)

    def member_packs(self, member: str) -> list[StoredPack]:
        """A member's packs, newest first, with what is left of each."""
        with self._transaction(f"read packs of {member}") as db:
            rows = list(
                db.scalars(
                    select(PackRow).where(PackRow.member == member).order_by(PackRow.id.desc())
                )
            )
            drawn = _drawn(db, [row.id for row in rows], month=None)
            return [_pack(row, row.quantity - drawn.get(row.id, 0)) for row in rows]

    def month_packs(
        self, month: str, start: datetime, end: datetime
    ) -> tuple[list[PackHolding], list[PackSale]]:
        """The packs a month may draw (what earlier months' statements left of them) and sells."""
        with self._transaction(f"read packs of {month}") as db:
            return month_packs(db, month, start, end)


def _holding(row: PackRow, drawn: int) -> PackHolding:
    """A pack as billing draws from it: what is left once `drawn` is taken."""
    return PackHolding(
        id=row.id,
        member=row.member,
        name=row.name,
        meter=Meter(row.meter),
        left=max(0, row.quantity - drawn),
        valid_from_ms=epoch_ms(row.bought_at),
        valid_until_ms=epoch_ms(row.valid_until),
        site=row.site or None,
        machine=row.machine or None,
    )


def month_packs(
    db: Session, month: str, start: datetime, end: datetime
) -> tuple[list[PackHolding], list[PackSale]]:
    """The packs valid in a month with what earlier months left of them, and those it sold."""
    rows = list(
        db.scalars(select(PackRow).where(PackRow.bought_at < end, PackRow.valid_until > start))
    )
    drawn = _drawn(db, [row.id for row in rows], month=month)
    holdings = [_holding(row, drawn.get(row.id, 0)) for row in rows]
    sales = [
        PackSale(
            row.id,
            row.member,
            row.name,
            Meter(row.meter),
            row.quantity,
            row.price_cents,
            row.vat_bp,
        )
        for row in rows
        if start <= row.bought_at
    ]
    return holdings, sales


def _issued_left(db: Session, member: str) -> list[PackHolding]:
    """A member's packs with what issued statements left of them (drafts are redone)."""
    rows = list(db.scalars(select(PackRow).where(PackRow.member == member)))
    drawn = _drawn(db, [row.id for row in rows], month=None, issued_only=True)
    return [_holding(row, drawn.get(row.id, 0)) for row in rows]


def _unbilled(
    db: Session,
    member: str,
    plan: str | None,
    book: TariffBook,
    tz: ZoneInfo,
    packs: PackBalance,
) -> tuple[int, datetime | None]:
    """What a member's sessions not yet on an issued statement cost with VAT after what her
    packs cover (drawn from `packs`, in session order), and when the last of her sessions
    ended."""
    issued = (
        select(StatementLineRow.session_id)
        .join(StatementRow, StatementRow.id == StatementLineRow.statement_id)
        .where(
            StatementRow.member == member,
            StatementRow.status == StatementStatus.ISSUED.value,
            StatementLineRow.session_id.is_not(None),
        )
    )
    sessions = db.scalars(
        select(SessionRow)
        .where(SessionRow.member == member, SessionRow.id.not_in(issued))
        .order_by(SessionRow.started, SessionRow.id)
    )
    no_allowance = AllowanceBalance(())
    owed = 0
    for row in sessions:
        session = UsageSession(
            id=row.id,
            site=row.site,
            machine=row.machine,
            member=member,
            started_ms=epoch_ms(row.started),
            ended_ms=epoch_ms(row.ended),
            unlocked_ms=round(row.unlocked_s * 1000),
            running_ms=round(row.running_s * 1000),
            idle_ms=round(row.idle_s * 1000),
            energy_mwh=round(row.energy_wh * 1000),
        )
        day = row.started.astimezone(tz).date()
        tariff = book.price_on(site=row.site, machine=row.machine, plan=plan, day=day)
        prices = PriceList.of(tariff)
        cents = charge_piece(
            session, day=day, plan=plan, prices=prices, balance=no_allowance, packs=packs
        ).cents
        owed += cents + vat_cents(cents, tariff.vat_bp)
    last = db.scalar(select(func.max(SessionRow.ended)).where(SessionRow.member == member))
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return owed, last


def _known_member(db: Session, member: str) -> None:
    row = db.get(MemberRow, member)
    if row is None or row.erased_at is not None:
        raise BillingInputError("member", f"there is no member {member!r}")


def _balance(db: Session, member: str) -> int:
    total = db.scalar(
        select(func.sum(CreditEntryRow.amount_cents)).where(CreditEntryRow.member == member)
    )
    return int(total or 0)


def _movements(db: Session, member: str) -> list[StoredMovement]:
    rows = db.scalars(
        select(CreditEntryRow).where(CreditEntryRow.member == member).order_by(CreditEntryRow.id)
    )
    out: list[StoredMovement] = []
    balance = 0
    for row in rows:
        balance += row.amount_cents
        out.append(
            StoredMovement(
                member=row.member,
                id=row.id,
                kind=CreditKind(row.kind),
                amount_cents=row.amount_cents,
                balance_after_cents=balance,
                at=row.at,
                by=row.by,
                note=row.note,
                payment_id=row.payment_id,
                statement_id=row.statement_id,
            )
        )
    return out


def _drawn(
    db: Session, pack_ids: list[int], *, month: str | None, issued_only: bool = False
) -> dict[int, int]:
    """Quantities drawn from packs by statements (with `month`, only those of the months before
    it: what they left is what it may draw; with `issued_only`, drafts left out too)."""
    if not pack_ids:
        return {}
    query = (
        select(StatementLineRow.reference, func.sum(StatementLineRow.quantity))
        .join(StatementRow, StatementRow.id == StatementLineRow.statement_id)
        .where(
            StatementLineRow.kind == LineKind.PACK_DRAW.value,
            StatementLineRow.reference.in_([str(i) for i in pack_ids]),
            StatementRow.kind == StatementKind.STATEMENT.value,
        )
        .group_by(StatementLineRow.reference)
    )
    if month is not None:
        # Packs are drawn in session order: a month draws what the months before it left.
        query = query.where(StatementRow.month < month)
    if issued_only:
        query = query.where(StatementRow.status == StatementStatus.ISSUED.value)
    return {int(ref or 0): int(total or 0) for ref, total in db.execute(query)}


def _product_on_sale(db: Session, product_id: int) -> PackProductRow:
    row = db.get(PackProductRow, product_id, with_for_update=True)
    if row is None:
        raise BillingInputError("product", f"there is no pack {product_id}")
    if row.retired_at is not None:
        raise StatementStateError(f"pack {product_id} ({row.name}) is retired")
    return row


def _product(row: PackProductRow) -> PackProduct:
    return PackProduct(
        id=row.id,
        name=row.name,
        meter=Meter(row.meter),
        quantity=row.quantity,
        price_cents=row.price_cents,
        vat_bp=row.vat_bp,
        valid_days=row.valid_days,
        site=row.site or None,
        machine=row.machine or None,
        retired_at=row.retired_at,
    )


def _pack(row: PackRow, left: int) -> StoredPack:
    return StoredPack(
        id=row.id,
        member=row.member,
        name=row.name,
        meter=Meter(row.meter),
        quantity=row.quantity,
        left=left,
        price_cents=row.price_cents,
        vat_bp=row.vat_bp,
        bought_at=row.bought_at,
        valid_until=row.valid_until,
        site=row.site or None,
        machine=row.machine or None,
    )
