"""The coordinator's review queue: sessions held out of billing, and conflicting copies.

A held session waits until a coordinator releases it (its member now exists in the registry,
and billing counts it from then on) or dismisses it (it is never billed). Conflicts are only
read: the first booking stands, the copy is there to be seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, Select, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.ledger.errors import LedgerError, LedgerUnavailableError, RegistryError
from services.ledger.models import HeldSessionRow, MemberRow, SessionConflictRow


class HoldOutcome(StrEnum):
    """What a coordinator decided about a held session."""

    RELEASED = "released"
    DISMISSED = "dismissed"


class HeldSessionNotFoundError(LedgerError):
    """No session waits under that id (never held, or already decided)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ReviewQueue:
    """Reads and decides the held sessions and reads the conflicts of the ledger."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.engine = engine
        self._clock = clock
        self._db = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Session]:
        try:
            with self._db.begin() as db:
                yield db
        except SQLAlchemyError as err:
            raise LedgerUnavailableError(f"{what}: {err}") from err

    def held(self, *, site: str | None = None) -> Sequence[HeldSessionRow]:
        """Sessions waiting for a decision, oldest first."""
        query = (
            select(HeldSessionRow)
            .where(HeldSessionRow.outcome.is_(None))
            .order_by(HeldSessionRow.held_at, HeldSessionRow.session_id)
        )
        if site is not None:
            query = query.where(HeldSessionRow.site == site)
        with self._transaction("read held sessions") as db:
            return db.scalars(query).all()

    def release(self, session_id: str, *, by: str) -> HeldSessionRow:
        """Let billing count a held session, once its member is in the registry."""
        with self._transaction(f"release held session {session_id}") as db:
            row = self._waiting(db, session_id)
            if db.get(MemberRow, row.member) is None:
                raise RegistryError(
                    "member", f"{row.member!r} is not in the registry yet: add the member first"
                )
            return self._decide(row, HoldOutcome.RELEASED, by)

    def dismiss(self, session_id: str, *, by: str) -> HeldSessionRow:
        """Keep a held session out of billing for good (it stays booked, for the record)."""
        with self._transaction(f"dismiss held session {session_id}") as db:
            return self._decide(self._waiting(db, session_id), HoldOutcome.DISMISSED, by)

    def conflicts(
        self, *, site: str | None = None, limit: int | None = None
    ) -> Sequence[SessionConflictRow]:
        """Conflicting copies of booked sessions, newest first."""
        query = select(SessionConflictRow).order_by(SessionConflictRow.id.desc()).limit(limit)
        if site is not None:
            query = query.where(SessionConflictRow.site == site)
        with self._transaction("read session conflicts") as db:
            return db.scalars(query).all()

    def _waiting(self, db: Session, session_id: str) -> HeldSessionRow:
        row = db.get(HeldSessionRow, session_id)
        if row is None or row.outcome is not None:
            raise HeldSessionNotFoundError(f"no held session {session_id} waits for a decision")
        return row

    def _decide(self, row: HeldSessionRow, outcome: HoldOutcome, by: str) -> HeldSessionRow:
        row.outcome = outcome.value
        row.decided_at = self._clock()
        row.decided_by = by
        return row


def unbilled_session_ids() -> Select[str]:
    """The ids of booked sessions billing must leave out: held and waiting, or dismissed."""
    waiting_or_dismissed = or_(
        HeldSessionRow.outcome.is_(None), HeldSessionRow.outcome == HoldOutcome.DISMISSED.value
    )
    return select(HeldSessionRow.session_id).where(waiting_or_dismissed)
