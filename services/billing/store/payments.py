"""Payments: credits from bank statements booked once, matched, assigned; what each statement got.

An import is one transaction: a file's credits are all booked or none is. A credit already
booked (the same key) is skipped, so the same file imported twice books nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.billing.bank_files import Credit
from services.billing.errors import BillingInputError, StatementStateError
from services.billing.models import CreditEntryRow, PaymentReminderRow, PaymentRow, StatementRow
from services.billing.reconcile import MatchedBy, PayableStatement, match
from services.billing.records import StatementKind, StatementStatus
from services.billing.store.base import StoreBase


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPayment:
    """A booked credit and, once matched, the statement it paid."""

    id: int
    booked: date
    amount_cents: int
    currency: str
    payer: str
    remittance: str
    creditor_reference: str | None
    statement_id: int | None
    statement_number: str | None
    member: str | None
    matched_by: MatchedBy | None
    not_ours: bool
    imported_at: datetime

    @property
    def unmatched(self) -> bool:
        """Whether it still waits for a coordinator."""
        return self.statement_id is None and not self.not_ours and self.matched_by is None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import booked: new credits, those matched among them, and those already booked."""

    added: int
    matched: int
    already: int


class PaymentStore(StoreBase):
    """Books credits, matches them to issued statements, and says what each statement got."""

    def import_credits(self, source: str, credits: Sequence[Credit]) -> ImportResult:
        """Book the credits not booked before, each matched to a statement where one fits."""
        now = self._clock()
        with self._transaction("payments import") as db:
            keys = [credit.key for credit in credits]
            known = set(db.scalars(select(PaymentRow.key).where(PaymentRow.key.in_(keys))))
            payable = {statement.id: statement for statement in _payable(db)}
            added = matched = 0
            for credit in credits:
                if credit.key in known:
                    continue
                known.add(credit.key)
                found = match(credit, list(payable.values()))
                row = PaymentRow(
                    key=credit.key,
                    source=source,
                    booked=credit.booked,
                    amount_cents=credit.amount_cents,
                    currency=credit.currency,
                    payer=credit.payer,
                    remittance=credit.remittance,
                    creditor_reference=(credit.creditor_reference or "")[:35] or None,
                    not_ours=False,
                    imported_at=now,
                )
                if found is not None:
                    statement_id, how = found
                    row.statement_id = statement_id
                    row.matched_by = how.value
                    was = payable[statement_id]
                    payable[statement_id] = replace(
                        was, paid_cents=was.paid_cents + credit.amount_cents
                    )
                    matched += 1
                db.add(row)
                added += 1
        return ImportResult(added, matched, len(credits) - added)

    def payments(
        self,
        *,
        unmatched: bool | None = None,
        limit: int | None = 500,
        booked_from: date | None = None,
        booked_before: date | None = None,
    ) -> list[StoredPayment]:
        """Booked payments, newest first: all, only those waiting, or only those settled; of
        some days of booking, or of any."""
        query = _payment_query()
        if booked_from is not None:
            query = query.where(PaymentRow.booked >= booked_from)
        if booked_before is not None:
            query = query.where(PaymentRow.booked < booked_before)
        if unmatched is True:
            query = query.where(
                PaymentRow.statement_id.is_(None),
                PaymentRow.not_ours.is_(False),
                PaymentRow.matched_by.is_(None),
            )
        elif unmatched is False:
            query = query.where(
                (PaymentRow.statement_id.is_not(None))
                | (PaymentRow.not_ours.is_(True))
                | (PaymentRow.matched_by.is_not(None))
            )
        query = query.order_by(PaymentRow.booked.desc(), PaymentRow.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._transaction("read payments") as db:
            return [_stored(payment, statement) for payment, statement in db.execute(query)]

    def payment(self, payment_id: int) -> StoredPayment | None:
        """One booked payment; None if there is none."""
        query = _payment_query().where(PaymentRow.id == payment_id)
        with self._transaction(f"read payment {payment_id}") as db:
            found = db.execute(query).first()
            return None if found is None else _stored(found[0], found[1])

    def member_payments(self, member: str) -> list[StoredPayment]:
        """The payments matched to one member's statements, oldest first."""
        query = _payment_query().where(StatementRow.member == member).order_by(PaymentRow.id)
        with self._transaction(f"read payments of {member}") as db:
            return [_stored(payment, statement) for payment, statement in db.execute(query)]

    def assign_payment(self, payment_id: int, statement_id: int | None, *, by: str) -> None:
        """Give a waiting payment to an issued statement, or (None) mark it as not ours."""
        with self._transaction(f"assign payment {payment_id}") as db:
            row = db.get(PaymentRow, payment_id, with_for_update=True)
            if row is None:
                raise BillingInputError("payment", f"there is no payment {payment_id}")
            if row.statement_id is not None or row.not_ours or row.matched_by is not None:
                raise StatementStateError(f"payment {payment_id} is already settled")
            if statement_id is None:
                row.not_ours = True
            else:
                target = db.get(StatementRow, statement_id)
                if target is None or not _is_payable(target):
                    raise BillingInputError(
                        "statement", f"{statement_id} is not an issued statement to be paid"
                    )
                row.statement_id = statement_id
                row.matched_by = MatchedBy.COORDINATOR.value
            row.assigned_by = by

    def unpaid_statement_ids(self) -> list[int]:
        """Issued statements not yet paid in full, oldest first."""
        with self._transaction("read unpaid statements") as db:
            return [s.id for s in _payable(db) if s.open_cents > 0]

    def reminded(self, statement_ids: Iterable[int]) -> dict[int, date]:
        """The day each of some statements' members was last reminded (never: absent)."""
        ids = list(statement_ids)
        if not ids:
            return {}
        query = select(PaymentReminderRow).where(PaymentReminderRow.statement_id.in_(ids))
        with self._transaction("read reminders") as db:
            return {row.statement_id: row.reminded_on for row in db.scalars(query)}

    def mark_reminded(self, statement_id: int, day: date) -> None:
        """Note that a statement's member was reminded on a (local) day."""
        with self._transaction(f"remind {statement_id}") as db:
            row = db.get(PaymentReminderRow, statement_id)
            if row is None:
                db.add(PaymentReminderRow(statement_id=statement_id, reminded_on=day))
            else:
                row.reminded_on = day

    def credited_cents(self, statement_ids: Iterable[int]) -> dict[int, int]:
        """What credit notes took back from each of some statements, with VAT, as a positive
        amount by id (a statement never credited is absent)."""
        ids = list(statement_ids)
        if not ids:
            return {}
        with self._transaction("read credited amounts") as db:
            return _credited(db, ids)

    def paid_cents(self, statement_ids: Iterable[int]) -> dict[int, int]:
        """What was paid on each of some statements, by id (a statement paid nothing is absent)."""
        ids = list(statement_ids)
        if not ids:
            return {}
        with self._transaction("read paid amounts") as db:
            return _paid(db, ids)


def _is_payable(row: StatementRow) -> bool:
    return (
        row.kind == StatementKind.STATEMENT.value
        and row.status == StatementStatus.ISSUED.value
        and row.number is not None
    )


def _paid(db: Session, ids: list[int] | None = None) -> dict[int, int]:
    query = select(PaymentRow.statement_id, func.sum(PaymentRow.amount_cents)).where(
        PaymentRow.statement_id.is_not(None)
    )
    if ids is not None:
        query = query.where(PaymentRow.statement_id.in_(ids))
    paid: dict[int, int] = {}
    for statement, total in db.execute(query.group_by(PaymentRow.statement_id)):
        paid[int(statement or 0)] = int(total)
    # What a statement drew from its member's credit pays it too.
    drawn = select(CreditEntryRow.statement_id, -func.sum(CreditEntryRow.amount_cents)).where(
        CreditEntryRow.statement_id.is_not(None)
    )
    if ids is not None:
        drawn = drawn.where(CreditEntryRow.statement_id.in_(ids))
    for statement, total in db.execute(drawn.group_by(CreditEntryRow.statement_id)):
        paid[int(statement or 0)] = paid.get(int(statement or 0), 0) + int(total)
    return paid


def _credited(db: Session, ids: list[int] | None = None) -> dict[int, int]:
    # A credit note's totals are negative: what it takes back from the statement it credits.
    query = select(StatementRow.credits_id, func.sum(StatementRow.total_cents)).where(
        StatementRow.kind == StatementKind.CREDIT_NOTE.value,
        StatementRow.status == StatementStatus.ISSUED.value,
        StatementRow.credits_id.is_not(None),
    )
    if ids is not None:
        query = query.where(StatementRow.credits_id.in_(ids))
    rows = db.execute(query.group_by(StatementRow.credits_id))
    return {int(original or 0): -int(total) for original, total in rows if total}


def _payable(db: Session) -> list[PayableStatement]:
    rows = db.scalars(
        select(StatementRow)
        .where(
            StatementRow.kind == StatementKind.STATEMENT.value,
            StatementRow.status == StatementStatus.ISSUED.value,
            StatementRow.number_seq.is_not(None),
            StatementRow.total_cents > 0,
        )
        .order_by(StatementRow.number_year, StatementRow.number_seq)
    )
    paid = _paid(db)
    credited = _credited(db)
    # What a statement still owes is its total less what credit notes took back from it.
    return [
        PayableStatement(
            id=row.id,
            number=row.number or "",
            member_name=row.member_name,
            total_cents=row.total_cents - credited.get(row.id, 0),
            paid_cents=paid.get(row.id, 0),
        )
        for row in rows
    ]


def _payment_query() -> Select[PaymentRow, StatementRow]:
    return select(PaymentRow, StatementRow).outerjoin(
        StatementRow, StatementRow.id == PaymentRow.statement_id
    )


def _stored(row: PaymentRow, statement: StatementRow | None) -> StoredPayment:
    return StoredPayment(
        id=row.id,
        booked=row.booked,
        amount_cents=row.amount_cents,
        currency=row.currency,
        payer=row.payer,
        remittance=row.remittance,
        creditor_reference=row.creditor_reference,
        statement_id=row.statement_id,
        statement_number=statement.number if statement is not None else None,
        member=statement.member if statement is not None else None,
        matched_by=MatchedBy(row.matched_by) if row.matched_by else None,
        not_ours=row.not_ours,
        imported_at=row.imported_at,
    )
