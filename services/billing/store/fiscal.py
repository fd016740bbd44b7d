"""Fiscal documents in the ledger: written in the transaction that issues, read back as stored.

`statement_parties` and `add_document` run inside the issuing transaction of `statements.py`; the
progressivo's sequence is the last one plus one, read there too, so a refused or failed issue
takes none. `FiscalStore` reads the files back: one statement's, a month's (by issue day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.billing.fiscal_issue import DocumentMaker, MadeDocument, party_for_documents
from services.billing.models import FiscalDocumentRow, StatementRow
from services.billing.months import Month, MonthWindow
from services.billing.records import StoredStatement
from services.billing.store.base import StoreBase
from services.fiscal import BillingParty
from services.ledger.models import BillingPartyRow
from services.ledger.parties import fiscal_party


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A FatturaPA file as the ledger keeps it, with the party it was made out to."""

    statement_id: int
    type: str
    progressivo: str
    file_name: str
    party: BillingParty
    xml: bytes
    created_at: datetime


def _stored(row: FiscalDocumentRow) -> StoredDocument:
    return StoredDocument(
        statement_id=row.statement_id,
        type=row.type,
        progressivo=row.progressivo,
        file_name=row.file_name,
        party=BillingParty.model_validate_json(row.party),
        xml=row.xml,
        created_at=row.created_at,
    )


def default_parties(db: Session, members: Iterable[str]) -> dict[str, BillingParty]:
    """Each member's default billing party, for those who have one."""
    query = select(BillingPartyRow).where(
        BillingPartyRow.member.in_(sorted(set(members))), BillingPartyRow.is_default.is_(True)
    )
    return {row.member: fiscal_party(row) for row in db.scalars(query)}


def drafted_parties(db: Session, statements: Iterable[StatementRow]) -> dict[int, BillingParty]:
    """Each statement's party as the ledger has it now: its own, else its member's default."""
    statements = list(statements)
    ids = sorted({row.party_id for row in statements if row.party_id is not None})
    own = {
        row.id: fiscal_party(row)
        for row in db.scalars(select(BillingPartyRow).where(BillingPartyRow.id.in_(ids)))
    }
    defaults = default_parties(db, (row.member for row in statements if row.party_id not in own))
    found = {}
    for row in statements:
        party = own.get(row.party_id) if row.party_id is not None else None
        party = party or defaults.get(row.member)
        if party is not None:
            found[row.id] = party
    return found


def statement_parties(db: Session, statements: Iterable[StatementRow]) -> dict[int, BillingParty]:
    """The party each statement's fattura goes to; refused, naming the field, if one cannot be."""
    statements = list(statements)
    found = drafted_parties(db, statements)
    return {row.id: party_for_documents(row.member, found.get(row.id)) for row in statements}


def document_party(db: Session, statement_id: int) -> BillingParty | None:
    """The party a statement's stored document was made out to, if it has one."""
    row = db.get(FiscalDocumentRow, statement_id)
    return None if row is None else BillingParty.model_validate_json(row.party)


def add_document(
    db: Session,
    maker: DocumentMaker,
    statement: StoredStatement,
    *,
    party: BillingParty,
    now: datetime,
    original: StoredStatement | None = None,
) -> MadeDocument | None:
    """Make and store an issued statement's file, next in the progressivo series.

    A statement with no line to invoice (allowances used, nothing charged) gets none.
    """
    if not maker.invoices(statement):
        return None
    last = db.scalar(select(func.max(FiscalDocumentRow.sequence)))
    made = maker.make(statement, party=party, sequence=int(last or 0) + 1, original=original)
    db.add(
        FiscalDocumentRow(
            statement_id=statement.id,
            type=made.type,
            sequence=int(last or 0) + 1,
            progressivo=made.progressivo,
            file_name=made.file_name,
            party=party.model_dump_json(),
            xml=made.xml,
            created_at=now,
        )
    )
    db.flush()
    return made


class FiscalStore(StoreBase):
    """Reads the stored FatturaPA files."""

    def fiscal_document(self, statement_id: int) -> StoredDocument | None:
        """A statement's stored file; None for a draft, a rendiconto or an unknown id."""
        with self._transaction(f"read the document of statement {statement_id}") as db:
            row = db.get(FiscalDocumentRow, statement_id)
            return None if row is None else _stored(row)

    def month_fiscal_documents(self, month: Month, tz: ZoneInfo) -> list[StoredDocument]:
        """The files of the statements issued in a local month, in progressivo order."""
        span = MonthWindow(month, tz)
        query = (
            select(FiscalDocumentRow)
            .join(StatementRow, StatementRow.id == FiscalDocumentRow.statement_id)
            .where(StatementRow.issued_at >= span.start, StatementRow.issued_at < span.end)
            .order_by(FiscalDocumentRow.sequence)
        )
        with self._transaction(f"read the documents of {month}") as db:
            return [_stored(row) for row in db.scalars(query)]

    def register_parties(self, statements: Iterable[StoredStatement]) -> dict[int, BillingParty]:
        """Whom each statement went to, by its id: the stored document's party, else its own."""
        ids = [s.id for s in statements]
        with self._transaction("read the billing parties") as db:
            rows = db.scalars(select(StatementRow).where(StatementRow.id.in_(ids))).all()
            parties = drafted_parties(db, rows)
            for statement_id in ids:
                stored = document_party(db, statement_id)
                if stored is not None:
                    parties[statement_id] = stored
            return parties
