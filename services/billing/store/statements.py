"""Statements: drafts saved, a month issued, credit notes written, statements read and marked.

Making a month's drafts and issuing a month are single transactions, so a crash halfway leaves
the month as it was before; numbers are taken from the per-year counter inside the transaction
that issues, so they have no gaps.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from services.billing.credit import credit_note
from services.billing.engine import MonthStatements
from services.billing.errors import StatementStateError
from services.billing.fiscal_issue import DocumentMaker
from services.billing.models import StatementLineRow, StatementRow
from services.billing.months import Month, MonthWindow
from services.billing.records import (
    Line,
    LineKind,
    StatementKind,
    StatementStatus,
    StoredStatement,
    lines_of,
    vat_summary,
)
from services.billing.store.base import Progress, StoreBase, no_progress
from services.billing.store.fiscal import add_document, document_party, statement_parties
from services.billing.store.numbering import by_number, lock_counter, take_numbers
from services.ledger.models import BillingPartyRow, MachineRow
from services.ledger.outbox import EventType, OutboxEvent, announce

log = logging.getLogger(__name__)

STATEMENTS = cast(Table, StatementRow.__table__)
LINES = cast(Table, StatementLineRow.__table__)
_LINE_FIELDS = tuple(Line.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class DraftResult:
    """What making a month's drafts did."""

    made: int
    replaced: int
    already_issued: int
    # Members one of whose issued statements no longer matches the ledger (sessions booked late).
    differ_from_issued: tuple[str, ...]
    # Later months whose drafts drew from packs this month now draws differently: made again.
    later_drafts: tuple[str, ...] = ()


def _later_pack_draws(db: Session, month: str, packs: set[str]) -> tuple[str, ...]:
    """The later months whose statements drew from these packs; refused (409) if one of those
    statements is issued: what it drew is final, and this month would leave a different rest."""
    if not packs:
        return ()
    drew = select(StatementLineRow.statement_id).where(
        StatementLineRow.kind == LineKind.PACK_DRAW.value,
        StatementLineRow.reference.in_(sorted(packs)),
    )
    query = (
        select(StatementRow)
        .where(
            StatementRow.month > month,
            StatementRow.kind == StatementKind.STATEMENT.value,
            StatementRow.id.in_(drew),
        )
        .order_by(StatementRow.month, StatementRow.member)
    )
    rows = list(db.scalars(query))
    issued = [
        f"{row.number} ({row.member}, {row.month})"
        for row in rows
        if row.status == StatementStatus.ISSUED.value
    ]
    if issued:
        raise StatementStateError(
            f"the drafts of {month} draw from packs differently from before, and later issued "
            f"statements drew from the same packs: {', '.join(issued)}; credit those first"
        )
    return tuple(sorted({row.month for row in rows}))


class StatementStore(StoreBase):
    """Writes and reads statements, their lines and credit notes."""

    def save_drafts(
        self,
        computed: MonthStatements,
        *,
        locale: str,
        currency: str,
        progress: Progress = no_progress,
    ) -> DraftResult:
        """Replace a month's drafts with freshly computed ones, in one transaction.

        A member's statement for a party that is already issued is kept: issued statements never
        change, so a difference (a session booked late) is reported, not applied.
        """
        month = str(computed.month)
        now = self._clock()
        with self._transaction(f"drafts of {month}") as db:
            # A write first: on SQLite it takes the database's write lock before anything is read.
            # The pack draws of the drafts replaced: if they change, later months drew from
            # what this month no longer leaves (or leaves more of).
            drafts = select(StatementRow.id).where(
                StatementRow.month == month,
                StatementRow.kind == StatementKind.STATEMENT.value,
                StatementRow.status == StatementStatus.DRAFT.value,
            )
            old_draws: dict[str, int] = {}
            for reference, quantity in db.execute(
                delete(StatementLineRow)
                .where(
                    StatementLineRow.kind == LineKind.PACK_DRAW.value,
                    StatementLineRow.statement_id.in_(drafts),
                )
                .returning(StatementLineRow.reference, StatementLineRow.quantity)
            ):
                old_draws[reference or ""] = old_draws.get(reference or "", 0) + int(quantity or 0)
            new_draws: dict[str, int] = {}
            replaced = db.execute(
                delete(StatementRow).where(
                    StatementRow.month == month,
                    StatementRow.kind == StatementKind.STATEMENT.value,
                    StatementRow.status == StatementStatus.DRAFT.value,
                )
            )
            issued_query = select(
                StatementRow.member, StatementRow.party_id, StatementRow.net_cents
            ).where(
                StatementRow.month == month,
                StatementRow.kind == StatementKind.STATEMENT.value,
                StatementRow.status == StatementStatus.ISSUED.value,
            )
            issued = {(member, party): net for member, party, net in db.execute(issued_query)}
            names = _machine_names(db)
            labels = _party_labels(db)
            differ: list[str] = []
            made = 0
            for statement in computed.statements:
                member = statement.member
                if (member.id, statement.party) in issued:
                    if issued[(member.id, statement.party)] != statement.net_cents:
                        differ.append(member.id)
                    progress(1)
                    continue
                header = {
                    "kind": StatementKind.STATEMENT.value,
                    "member": member.id,
                    "month": month,
                    "revision": 1,
                    "party_id": statement.party,
                    "party_label": labels.get(statement.party),
                    "status": StatementStatus.DRAFT.value,
                    "member_name": member.name,
                    "member_email": member.email,
                    "locale": member.locale or locale,
                    "currency": currency,
                    "net_cents": statement.net_cents,
                    "vat_cents": statement.vat_cents,
                    "total_cents": statement.total_cents,
                    "made_at": now,
                }
                statement_id = db.execute(
                    insert(STATEMENTS).values(header).returning(STATEMENTS.c.id)
                ).scalar_one()
                lines = _named(lines_of(statement), names)
                for line in lines:
                    if line.kind is LineKind.PACK_DRAW:
                        key = line.reference or ""
                        new_draws[key] = new_draws.get(key, 0) + int(line.quantity or 0)
                rows = [
                    {"statement_id": statement_id, "position": n, **line_values(line)}
                    for n, line in enumerate(lines, start=1)
                ]
                if rows:
                    db.execute(insert(LINES), rows)
                made += 1
                progress(1)
            changed = {
                pack
                for pack in old_draws.keys() | new_draws.keys()
                if old_draws.get(pack, 0) != new_draws.get(pack, 0)
            }
            later = _later_pack_draws(db, month, changed)
        if differ:
            log.warning(
                "%s: %d issued statements differ from the ledger now (late sessions?): %s",
                month,
                len(differ),
                ", ".join(differ[:10]),
            )
        return DraftResult(
            made, cast(Any, replaced).rowcount or 0, len(issued), tuple(differ), later
        )

    def issue_month(
        self,
        month: Month,
        *,
        tz: ZoneInfo,
        progress: Progress = no_progress,
        only: int | None = None,
        documents: DocumentMaker | None = None,
    ) -> list[str]:
        """Issue every draft of a month (or the one draft `only`), numbered by member and party.

        With `documents` (fattura mode) each gets its FatturaPA file, made out to its own party,
        in the same transaction; every statement's party is checked before the first number is
        taken.
        """
        now = self._clock()
        year = now.astimezone(tz).year
        with self._transaction(f"issue {month}") as db:
            lock_counter(db, self._upsert, year)
            query = (
                select(StatementRow)
                .where(
                    StatementRow.month == str(month),
                    StatementRow.kind == StatementKind.STATEMENT.value,
                    StatementRow.status == StatementStatus.DRAFT.value,
                )
                .order_by(StatementRow.member, func.coalesce(StatementRow.party_id, 0))
                .with_for_update()
            )
            if only is not None:
                query = query.where(StatementRow.id == only)
            drafts = list(db.scalars(query))
            if not drafts:
                return []
            parties = {} if documents is None else statement_parties(db, drafts)
            first = take_numbers(db, year, len(drafts))
            numbers = []
            for offset, row in enumerate(drafts):
                row.status = StatementStatus.ISSUED.value
                row.number_year = year
                row.number_seq = first + offset
                row.issued_at = now
                db.flush()
                if documents is not None:
                    add_document(
                        db,
                        documents,
                        _stored_with_lines(db, row),
                        party=parties[row.id],
                        now=now,
                    )
                numbers.append(cast(str, row.number))
                progress(1)
            announce(db, [_issued_event(row) for row in drafts], now)
        log.info("%s: issued %d statements, %s to %s", month, len(numbers), numbers[0], numbers[-1])
        return numbers

    def credit(
        self,
        number: str,
        *,
        reason: str,
        tz: ZoneInfo,
        net_cents: int | None = None,
        vat_bp: int | None = None,
        documents: DocumentMaker | None = None,
    ) -> StoredStatement:
        """Issue a credit note against an issued statement: all of it, or a net amount.

        With `documents` (fattura mode) the note gets its TD04 in the same transaction, made out
        to the party of the original's document (or the original's party).
        """
        now = self._clock()
        year = now.astimezone(tz).year
        with self._transaction(f"credit {number}") as db:
            lock_counter(db, self._upsert, year)
            original = by_number(db, number)
            if original.kind != StatementKind.STATEMENT.value:
                raise StatementStateError(f"{number} is a credit note: credit the statement")
            credited = db.scalar(
                select(func.coalesce(func.sum(StatementRow.net_cents), 0)).where(
                    StatementRow.credits_id == original.id
                )
            )
            lines = credit_note(
                [line_of(row) for row in _line_rows(db, original.id)],
                number=number,
                reason=reason,
                credited_cents=int(credited or 0),
                net_cents=net_cents,
                vat_bp=vat_bp,
            )
            if not lines:
                raise StatementStateError(f"{number} charges nothing: there is nothing to credit")
            party = None
            if documents is not None:
                party = (
                    document_party(db, original.id)
                    or statement_parties(db, [original])[original.id]
                )
            summary = vat_summary(lines)
            revision = 1 + (
                db.scalar(select(func.count()).where(StatementRow.credits_id == original.id)) or 0
            )
            row = StatementRow(
                kind=StatementKind.CREDIT_NOTE.value,
                member=original.member,
                month=original.month,
                revision=revision,
                party_id=original.party_id,
                party_label=original.party_label,
                status=StatementStatus.ISSUED.value,
                credits_id=original.id,
                reason=reason,
                member_name=original.member_name,
                member_email=original.member_email,
                locale=original.locale,
                currency=original.currency,
                net_cents=sum(v.net_cents for v in summary),
                vat_cents=sum(v.vat_cents for v in summary),
                total_cents=sum(v.net_cents + v.vat_cents for v in summary),
                made_at=now,
                issued_at=now,
                number_year=year,
                number_seq=take_numbers(db, year, 1),
            )
            db.add(row)
            db.flush()
            db.execute(
                insert(LINES),
                [
                    {"statement_id": row.id, "position": n, **line_values(line)}
                    for n, line in enumerate(lines, start=1)
                ],
            )
            note = _stored_with_lines(db, row)
            if documents is not None and party is not None:
                add_document(
                    db,
                    documents,
                    note,
                    party=party,
                    now=now,
                    original=_stored_with_lines(db, original),
                )
            return note

    def statement(self, number: str) -> StoredStatement:
        """An issued statement or credit note by its number."""
        with self._transaction(f"read {number}") as db:
            return _stored_with_lines(db, by_number(db, number))

    def statement_by_id(self, statement_id: int) -> StoredStatement | None:
        """A statement, draft or issued, or a credit note by its id; None if there is none."""
        with self._transaction(f"read statement {statement_id}") as db:
            row = db.get(StatementRow, statement_id)
            return None if row is None else _stored_with_lines(db, row)

    def statements(
        self,
        month: Month,
        *,
        status: StatementStatus | None = None,
        kind: StatementKind | None = None,
        member: str | None = None,
        with_lines: bool = True,
    ) -> list[StoredStatement]:
        """A month's statements and credit notes (of everyone, or of one member), by member."""
        query = select(StatementRow).where(StatementRow.month == str(month))
        if status is not None:
            query = query.where(StatementRow.status == status.value)
        if kind is not None:
            query = query.where(StatementRow.kind == kind.value)
        if member is not None:
            query = query.where(StatementRow.member == member)
        query = query.order_by(
            StatementRow.member,
            func.coalesce(StatementRow.party_id, 0),
            StatementRow.kind,
            StatementRow.revision,
        )
        if with_lines:
            query = query.options(selectinload(StatementRow.lines))
        with self._transaction(f"read statements of {month}") as db:
            rows = list(db.scalars(query))
            numbers = {row.id: row.number for row in rows}
            return [
                stored_of(
                    row,
                    [line_of(line) for line in row.lines] if with_lines else [],
                    numbers.get(row.credits_id) if row.credits_id is not None else None,
                )
                for row in rows
            ]

    def member_statements(self, month: Month, member: str) -> list[StoredStatement]:
        """One member's statements and credit notes of a month, without anyone else's."""
        return self.statements(month, member=member)

    def unsent(self, month: Month | None = None) -> list[StoredStatement]:
        """Issued statements and credit notes not yet e-mailed (of one month, or all)."""
        query = select(StatementRow).where(
            StatementRow.status == StatementStatus.ISSUED.value, StatementRow.emailed_at.is_(None)
        )
        if month is not None:
            query = query.where(StatementRow.month == str(month))
        query = query.order_by(StatementRow.number_year, StatementRow.number_seq)
        with self._transaction("read unsent statements") as db:
            return [_stored_with_lines(db, row) for row in db.scalars(query)]

    def mark_emailed(self, statement_id: int) -> None:
        """Note that a statement reached the mail server."""
        with self._transaction("mark a statement e-mailed") as db:
            db.execute(
                update(StatementRow)
                .where(StatementRow.id == statement_id)
                .values(emailed_at=self._clock())
            )

    def issued_in(self, month: Month, tz: ZoneInfo) -> list[StoredStatement]:
        """The statements and credit notes issued in a local month, in issue order."""
        window = MonthWindow(month, tz)
        query = (
            select(StatementRow)
            .where(
                StatementRow.status == StatementStatus.ISSUED.value,
                StatementRow.issued_at >= window.start,
                StatementRow.issued_at < window.end,
            )
            .order_by(StatementRow.number_year, StatementRow.number_seq)
        )
        with self._transaction(f"read what was issued in {month}") as db:
            return [_stored_with_lines(db, row) for row in db.scalars(query)]

    def credited_originals(self, notes: Sequence[StoredStatement]) -> list[StoredStatement]:
        """The statements some credit notes correct (of any month)."""
        numbers = sorted({n.credits_number for n in notes if n.credits_number is not None})
        with self._transaction("read credited statements") as db:
            return [_stored_with_lines(db, by_number(db, number)) for number in numbers]

    def month_state(self, month: Month) -> tuple[int, int, datetime | None]:
        """Drafts, issued statements, and when the oldest draft was made, for a month."""
        with self._transaction(f"read {month}") as db:
            rows = db.execute(
                select(StatementRow.status, func.count(), func.min(StatementRow.made_at))
                .where(
                    StatementRow.month == str(month),
                    StatementRow.kind == StatementKind.STATEMENT.value,
                )
                .group_by(StatementRow.status)
            ).all()
        counts = {status: (count, made) for status, count, made in rows}
        drafts, oldest = counts.get(StatementStatus.DRAFT.value, (0, None))
        issued, _ = counts.get(StatementStatus.ISSUED.value, (0, None))
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)  # func.min bypasses the column type on SQLite
        return drafts, issued, oldest


def issued_count(db: Session, month: Month) -> int:
    """How many statements of a month are issued (a month with any is closed to new pools)."""
    return int(
        db.scalar(
            select(func.count()).where(
                StatementRow.month == str(month),
                StatementRow.status == StatementStatus.ISSUED.value,
            )
        )
        or 0
    )


def _machine_names(db: Session) -> dict[tuple[str, str], str]:
    return {
        (site, machine): name
        for site, machine, name in db.execute(
            select(MachineRow.site, MachineRow.id, MachineRow.name)
        )
    }


def _party_labels(db: Session) -> dict[int | None, str]:
    return {
        party: label
        for party, label in db.execute(select(BillingPartyRow.id, BillingPartyRow.label))
    }


def _named(lines: list[Line], names: dict[tuple[str, str], str]) -> list[Line]:
    """Lines with their machine's name as the registry has it now, kept from then on."""
    return [
        replace(line, name=names.get((line.site, line.machine)))
        if line.site is not None and line.machine is not None
        else line
        for line in lines
    ]


def _line_rows(db: Session, statement_id: int) -> Sequence[StatementLineRow]:
    query = (
        select(StatementLineRow)
        .where(StatementLineRow.statement_id == statement_id)
        .order_by(StatementLineRow.position)
    )
    return db.scalars(query).all()


def _stored_with_lines(db: Session, row: StatementRow) -> StoredStatement:
    credits_number = None
    if row.credits_id is not None:
        original = db.get(StatementRow, row.credits_id)
        credits_number = original.number if original is not None else None
    return stored_of(row, [line_of(line) for line in _line_rows(db, row.id)], credits_number)


def line_values(line: Line) -> dict[str, object]:
    """A line as the column values of its row."""
    values = {name: getattr(line, name) for name in _LINE_FIELDS}
    values["kind"] = line.kind.value
    return values


def line_of(row: StatementLineRow) -> Line:
    """A stored line."""
    values = {name: getattr(row, name) for name in _LINE_FIELDS}
    values["kind"] = LineKind(row.kind)
    return Line(**values)


def stored_of(row: StatementRow, lines: list[Line], credits_number: str | None) -> StoredStatement:
    """A statement row with its lines, independent of the database."""
    return StoredStatement(
        id=row.id,
        kind=StatementKind(row.kind),
        status=StatementStatus(row.status),
        member=row.member,
        member_name=row.member_name,
        member_email=row.member_email,
        month=row.month,
        revision=row.revision,
        number=row.number,
        credits_number=credits_number,
        reason=row.reason,
        locale=row.locale,
        currency=row.currency,
        net_cents=row.net_cents,
        vat_cents=row.vat_cents,
        total_cents=row.total_cents,
        made_at=row.made_at,
        issued_at=row.issued_at,
        emailed_at=row.emailed_at,
        lines=tuple(lines),
        party_id=row.party_id,
        party_label=row.party_label,
    )


def _issued_event(row: StatementRow) -> OutboxEvent:
    """The `statement.issued` event of a statement just numbered: amounts in integer cents."""
    return OutboxEvent(
        EventType.STATEMENT_ISSUED,
        {
            "number": row.number,
            "member": row.member,
            "party": row.party_id,
            "month": row.month,
            "currency": row.currency,
            "net_cents": row.net_cents,
            "vat_cents": row.vat_cents,
            "total_cents": row.total_cents,
        },
    )
