"""Billing's tables in the ledger: tariffs, plans, weights, cost pools, statements, runs.

A fattura workshop's issued statements also keep their FatturaPA document (migration 0010).
A statement names the billing party it is made out to (migration 0011).
Payments read from bank statements say which statement they paid (migration 0013).
Consumables: a catalogue with stock, takes and restocks (migration 0016); retiring an item and
billing a take to a named party (migration 0019).
Members' credit (top-ups and draws), the pack catalogue and the packs bought (migration 0017).

They share the ledger's declarative base, so one Alembic history (migration 0003) creates them.
Money is integer cents, prices integer micro-euros per unit, quantities integer milli-units:
exact on SQLite and PostgreSQL alike. `""` in a tariff's site, machine or plan means "any", so
that a unique constraint can hold (NULLs never collide in SQL).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.ledger.models import ID_LEN, NAME_LEN, SESSION_ID_LEN, Base, SessionRow
from services.ledger.types import UtcDateTime

MONTH_LEN = 7  # "2026-10"
KEY_LEN = 16
LOCALE_LEN = 16
FILE_NAME_LEN = 40  # IT + a codice fiscale of 16 + _ + progressivo + .xml
PAYMENT_KEY_LEN = 140  # an IBAN, a slash, the bank's entry reference and a transaction's index

# Billing reads a month's sessions by when they ended: an index the ingest tables did not need.
SESSIONS_BY_ENDED = Index("ix_sessions_ended", SessionRow.__table__.c.ended)


class TariffRow(Base):
    """Prices of machine time from a local day on: per minute, per kWh, a minimum, VAT."""

    __tablename__ = "tariffs"
    __table_args__ = (
        UniqueConstraint("site", "machine", "plan", "valid_from", name="uq_tariffs_scope_day"),
        CheckConstraint(
            "per_running_minute_micros >= 0 AND per_unlocked_minute_micros >= 0"
            " AND per_kwh_micros >= 0 AND minimum_cents >= 0",
            name="prices_not_negative",
        ),
        CheckConstraint("vat_bp BETWEEN 0 AND 10000", name="vat_is_a_rate"),
        CheckConstraint(
            "booking_fee_cents >= 0 AND no_show_cents >= 0", name="booking_charges_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(ID_LEN), default="")
    machine: Mapped[str] = mapped_column(String(ID_LEN), default="")
    plan: Mapped[str] = mapped_column(String(ID_LEN), default="")
    valid_from: Mapped[date] = mapped_column(Date)
    per_running_minute_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    per_unlocked_minute_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    per_kwh_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    minimum_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_bp: Mapped[int] = mapped_column(Integer, default=0)
    # Charged per booking of the machine used, and per booking nobody came for (migration 0018).
    booking_fee_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    no_show_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PlanRow(Base):
    """A membership plan: its monthly fee and VAT rate; allowances in their own rows."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("monthly_fee_cents >= 0", name="fee_not_negative"),
        CheckConstraint("vat_bp BETWEEN 0 AND 10000", name="vat_is_a_rate"),
    )

    name: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    monthly_fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_bp: Mapped[int] = mapped_column(Integer, default=0)
    # Its members are let in at the gateways only while their credit lasts.
    requires_credit: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    allowances: Mapped[list[PlanAllowanceRow]] = relationship(
        cascade="all, delete-orphan", order_by="PlanAllowanceRow.id", lazy="selectin"
    )


class PlanAllowanceRow(Base):
    """Machine time a plan includes each month, on one machine or on all."""

    __tablename__ = "plan_allowances"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan: Mapped[str] = mapped_column(ForeignKey("plans.name", ondelete="CASCADE"), index=True)
    meter: Mapped[str] = mapped_column(String(KEY_LEN))
    quantity: Mapped[int] = mapped_column(BigInteger)
    site: Mapped[str] = mapped_column(String(ID_LEN), default="")
    machine: Mapped[str] = mapped_column(String(ID_LEN), default="")


class MemberPlanRow(Base):
    """A member's plan from a local day on; no plan (NULL) from that day is allowed too."""

    __tablename__ = "member_plans"

    member: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    plan: Mapped[str | None] = mapped_column(ForeignKey("plans.name"))


class BillingProfileRow(Base):
    """How a member wants their statements: language (it, en)."""

    __tablename__ = "billing_profiles"

    member: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(LOCALE_LEN))


class WeightRow(Base):
    """A member's weight in a named set (square metres, desks) for the fixed-weights key."""

    __tablename__ = "weights"
    __table_args__ = (CheckConstraint("weight_milli >= 0", name="weight_not_negative"),)

    weight_set: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    member: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    weight_milli: Mapped[int] = mapped_column(BigInteger)


class CostPoolRow(Base):
    """A month's shared bill and how it is split."""

    __tablename__ = "cost_pools"
    __table_args__ = (
        UniqueConstraint("month", "name", name="uq_cost_pools_month_name"),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        CheckConstraint("vat_bp BETWEEN 0 AND 10000", name="vat_is_a_rate"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(MONTH_LEN), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(KEY_LEN))
    weight_set: Mapped[str | None] = mapped_column(String(ID_LEN))
    billed_quantity: Mapped[int | None] = mapped_column(BigInteger)
    remainder_key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    remainder_weight_set: Mapped[str | None] = mapped_column(String(ID_LEN))
    vat_bp: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(KEY_LEN))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    machines: Mapped[list[CostPoolMachineRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class CostPoolMachineRow(Base):
    """A machine whose usage a metered pool counts (none: every machine)."""

    __tablename__ = "cost_pool_machines"

    pool_id: Mapped[int] = mapped_column(
        ForeignKey("cost_pools.id", ondelete="CASCADE"), primary_key=True
    )
    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    machine: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)


class StatementRow(Base):
    """A statement or a credit note: draft until issued, then numbered and never changed."""

    __tablename__ = "statements"
    __table_args__ = (
        # Re-running a month never makes a second statement for the same member, party and
        # month; no party counts as party 0, since NULLs never collide in SQL.
        Index(
            "uq_statements_member_party_month",
            "member",
            func.coalesce(text("party_id"), 0),
            "month",
            "kind",
            "revision",
            unique=True,
        ),
        UniqueConstraint("number_year", "number_seq", name="uq_statements_number"),
        CheckConstraint("kind IN ('statement', 'credit_note')", name="kind_known"),
        CheckConstraint("status IN ('draft', 'issued')", name="status_known"),
        CheckConstraint(
            "(status = 'issued') = (number_seq IS NOT NULL)", name="issued_iff_numbered"
        ),
        Index("ix_statements_month_status", "month", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(KEY_LEN))
    member: Mapped[str] = mapped_column(String(ID_LEN))
    month: Mapped[str] = mapped_column(String(MONTH_LEN))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # The billing party as it was when drafted (none: the member had none); not a foreign key,
    # so an issued statement keeps naming it after the party is deleted.
    party_id: Mapped[int | None] = mapped_column(Integer)
    party_label: Mapped[str | None] = mapped_column(String(NAME_LEN))
    status: Mapped[str] = mapped_column(String(KEY_LEN))
    number_year: Mapped[int | None] = mapped_column(Integer)
    number_seq: Mapped[int | None] = mapped_column(Integer)
    credits_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    member_name: Mapped[str] = mapped_column(String(NAME_LEN))
    member_email: Mapped[str | None] = mapped_column(String(NAME_LEN))
    locale: Mapped[str] = mapped_column(String(LOCALE_LEN))
    currency: Mapped[str] = mapped_column(String(3))
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    made_at: Mapped[datetime] = mapped_column(UtcDateTime())
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lines: Mapped[list[StatementLineRow]] = relationship(
        cascade="all, delete-orphan", order_by="StatementLineRow.position", lazy="raise"
    )

    @property
    def number(self) -> str | None:
        """`YYYY/NNNN` once issued."""
        if self.number_year is None or self.number_seq is None:
            return None
        return f"{self.number_year:04d}/{self.number_seq:04d}"


class StatementLineRow(Base):
    """One line of a statement: a session, a plan fee, an allowance, a pool share, a credit."""

    __tablename__ = "statement_lines"

    statement_id: Mapped[int] = mapped_column(
        ForeignKey("statements.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(KEY_LEN))
    reference: Mapped[str | None] = mapped_column(String(NAME_LEN))
    # The machine's name when the line was drafted: an issued line reads the same for good.
    name: Mapped[str | None] = mapped_column(String(NAME_LEN))
    site: Mapped[str | None] = mapped_column(String(ID_LEN))
    machine: Mapped[str | None] = mapped_column(String(ID_LEN))
    session_id: Mapped[str | None] = mapped_column(String(SESSION_ID_LEN))
    started: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended: Mapped[datetime | None] = mapped_column(UtcDateTime())
    day: Mapped[date | None] = mapped_column(Date)
    running_ms: Mapped[int | None] = mapped_column(BigInteger)
    unlocked_ms: Mapped[int | None] = mapped_column(BigInteger)
    energy_mwh: Mapped[int | None] = mapped_column(BigInteger)
    free_ms: Mapped[int | None] = mapped_column(BigInteger)
    key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    quantity: Mapped[int | None] = mapped_column(BigInteger)
    key_total: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_bp: Mapped[int] = mapped_column(Integer)


class StatementNumberRow(Base):
    """The last number given in a year: statements and credit notes share one gapless series."""

    __tablename__ = "statement_numbers"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class FiscalDocumentRow(Base):
    """The FatturaPA XML of an issued statement or credit note, made when it was issued.

    The progressivo's `sequence` is taken in the transaction that numbers the statement, so the
    files an intermediary receives have no gap; the party is kept as it was on the document.
    """

    __tablename__ = "fiscal_documents"
    __table_args__ = (
        UniqueConstraint("sequence", name="uq_fiscal_documents_sequence"),
        UniqueConstraint("file_name", name="uq_fiscal_documents_file_name"),
        CheckConstraint("type IN ('TD01', 'TD04')", name="type_known"),
    )

    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), primary_key=True)
    type: Mapped[str] = mapped_column(String(4))
    sequence: Mapped[int] = mapped_column(Integer)
    progressivo: Mapped[str] = mapped_column(String(5))
    file_name: Mapped[str] = mapped_column(String(FILE_NAME_LEN))
    party: Mapped[str] = mapped_column(Text)  # the BillingParty as JSON
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BillingRunRow(Base):
    """A step of the monthly run (draft, issue, mail) for one month, and how it ended."""

    __tablename__ = "billing_runs"
    __table_args__ = (Index("ix_billing_runs_month_step", "month", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(MONTH_LEN))
    step: Mapped[str] = mapped_column(String(KEY_LEN))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(KEY_LEN))
    statements: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)
    # The login that asked for the step; none for the scheduler and the command line.
    by: Mapped[str | None] = mapped_column(String(NAME_LEN))


class PaymentRow(Base):
    """A credit read from a bank statement, and the issued statement it pays once matched.

    `key` is the bank's entry reference (or a hash of the line), so a file imported twice books
    each credit once; a credit no statement fits waits for a coordinator, who assigns it or
    marks it as not the workshop's.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("key", name="uq_payments_key"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("NOT (not_ours AND statement_id IS NOT NULL)", name="ours_if_assigned"),
        Index("ix_payments_statement_id", "statement_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(PAYMENT_KEY_LEN))
    source: Mapped[str] = mapped_column(String(KEY_LEN))
    booked: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payer: Mapped[str] = mapped_column(Text)
    remittance: Mapped[str] = mapped_column(Text)
    creditor_reference: Mapped[str | None] = mapped_column(String(35), nullable=True)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"), nullable=True)
    matched_by: Mapped[str | None] = mapped_column(String(KEY_LEN), nullable=True)
    not_ours: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime())
    assigned_by: Mapped[str | None] = mapped_column(Text, nullable=True)


class PaymentReminderRow(Base):
    """When an overdue statement's member was last reminded, so a reminder is not repeated daily."""

    __tablename__ = "payment_reminders"

    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), primary_key=True)
    reminded_on: Mapped[date] = mapped_column(Date)  # the workshop's local day


class ConsumableItemRow(Base):
    """A consumable the workshop sells (sheet stock, filament, blades): its price and stock.

    `stock` is counted down by every take and up by every restock, in the transaction that
    records them, so it always equals what was restocked less what was taken.
    """

    __tablename__ = "consumable_items"
    __table_args__ = (
        UniqueConstraint("name", name="uq_consumable_items_name"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("vat_bp BETWEEN 0 AND 10000", name="vat_is_a_rate"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("low_stock >= 0", name="low_stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    unit: Mapped[str] = mapped_column(String(KEY_LEN))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_bp: Mapped[int] = mapped_column(Integer, default=0)
    stock: Mapped[int] = mapped_column(BigInteger, default=0)
    low_stock: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set when the item is no longer sold: not offered nor taken, kept for the takes it has.
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    machines: Mapped[list[ConsumableMachineRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class ConsumableMachineRow(Base):
    """A machine whose page offers an item (an item with none is offered everywhere)."""

    __tablename__ = "consumable_machines"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("consumable_items.id", ondelete="CASCADE"), primary_key=True
    )
    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    machine: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)


class ConsumableTakeRow(Base):
    """Some of an item taken by a member, priced when taken: name, unit, price and VAT kept."""

    __tablename__ = "consumable_takes"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("net_cents = quantity * unit_price_cents", name="net_is_priced"),
        Index("ix_consumable_takes_taken_at", "taken_at"),
        Index("ix_consumable_takes_member", "member"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("consumable_items.id"))
    member: Mapped[str] = mapped_column(String(ID_LEN))
    site: Mapped[str | None] = mapped_column(String(ID_LEN))
    machine: Mapped[str | None] = mapped_column(String(ID_LEN))
    item_name: Mapped[str] = mapped_column(String(NAME_LEN))
    unit: Mapped[str] = mapped_column(String(KEY_LEN))
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_bp: Mapped[int] = mapped_column(Integer)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The login that recorded it: the member herself at the machine, or staff for her.
    recorded_by: Mapped[str | None] = mapped_column(String(NAME_LEN))
    # The member's billing party it is billed to; none: her default party.
    party_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_parties.id", ondelete="SET NULL")
    )


class ConsumableRestockRow(Base):
    """Stock added to an item, and who counted it in."""

    __tablename__ = "consumable_restocks"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_consumable_restocks_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("consumable_items.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
    restocked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str | None] = mapped_column(String(NAME_LEN))


class CreditEntryRow(Base):
    """One movement of a member's credit: a top-up (positive) or a draw (negative).

    Her balance is the sum of her entries, never a number kept beside them. A top-up is recorded
    by staff (`by`, `note`) or is a bank credit assigned to it (`payment_id`, once); a draw pays
    an issued statement (`statement_id`) or corrects a top-up recorded in error.
    """

    __tablename__ = "credit_entries"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'top_up' AND amount_cents > 0) OR (kind <> 'top_up' AND amount_cents < 0)",
            name="sign_follows_kind",
        ),
        UniqueConstraint("payment_id", name="uq_credit_entries_payment_id"),
        Index("ix_credit_entries_member", "member"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign key, as on statements: an erased member's movements go to her erased id.
    member: Mapped[str] = mapped_column(String(ID_LEN))
    kind: Mapped[str] = mapped_column(String(KEY_LEN))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str | None] = mapped_column(String(NAME_LEN), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"), nullable=True)


class PackProductRow(Base):
    """A pack on sale: a quantity of running time or energy, its price, VAT and validity.

    `""` in site or machine means any, as in tariffs.
    """

    __tablename__ = "pack_products"
    __table_args__ = (
        UniqueConstraint("name", name="uq_pack_products_name"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("vat_bp BETWEEN 0 AND 10000", name="vat_is_a_rate"),
        CheckConstraint("valid_days > 0", name="valid_days_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    meter: Mapped[str] = mapped_column(String(KEY_LEN))
    quantity: Mapped[int] = mapped_column(BigInteger)  # base units: milliseconds or mWh
    price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_bp: Mapped[int] = mapped_column(Integer, default=0)
    valid_days: Mapped[int] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(ID_LEN), default="")
    machine: Mapped[str] = mapped_column(String(ID_LEN), default="")
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PackRow(Base):
    """A pack a member bought: the product's terms as sold, and until when it may be drawn.

    What is left is the quantity less the pack-draw lines of the statements that name it.
    """

    __tablename__ = "packs"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        Index("ix_packs_member", "member"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member: Mapped[str] = mapped_column(String(ID_LEN))  # no foreign key: see credit entries
    product_id: Mapped[int] = mapped_column(ForeignKey("pack_products.id"))
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    meter: Mapped[str] = mapped_column(String(KEY_LEN))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_bp: Mapped[int] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(ID_LEN), default="")
    machine: Mapped[str] = mapped_column(String(ID_LEN), default="")
    bought_at: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str | None] = mapped_column(String(NAME_LEN), nullable=True)
