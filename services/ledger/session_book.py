"""The session book: what ingest books in the ledger, idempotently, and the queries reading it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from contract import Badge, SessionRecord, StateChange
from services.ledger.bookings import (
    BookingResult,
    Bookings,
    MachineEvent,
    SiteSession,
    book_all,
    kept_raw,
)
from services.ledger.db import open_existing, open_ledger
from services.ledger.errors import LedgerError, LedgerUnavailableError
from services.ledger.models import (
    BadgeEventRow,
    DeadLetterRow,
    MachineRow,
    MachineStateRow,
    SessionRow,
)

log = logging.getLogger(__name__)


# Errors that say the database is away or busy, not that the data is wrong: retry them.
_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _translated(err: SQLAlchemyError, what: str) -> LedgerError:
    """The ledger's error for a database error: unavailable (retry) or not."""
    if isinstance(err, _UNAVAILABLE) or getattr(err, "connection_invalidated", False):
        return LedgerUnavailableError(f"{what}: {err}")
    return LedgerError(f"{what}: {err}")


class SessionBook:
    """The book of sessions, badges, states and dead letters; each safe to repeat."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.engine = engine
        self._clock = clock
        # Rows handed out must stay readable after their transaction ends.
        self._open_db = sessionmaker(engine, expire_on_commit=False)
        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if engine.dialect.name not in dialects:
            raise LedgerError(
                f"ledger url: {engine.dialect.name} is not supported (sqlite, postgresql)"
            )
        self._insert: Callable[[Any], Any] = dialects[engine.dialect.name]

    @classmethod
    def open(cls, url: str, *, existing: bool = False) -> SessionBook:
        """Open (and migrate) the ledger at a SQLAlchemy URL; `existing`: never make a new one."""
        return cls(open_existing(url) if existing else open_ledger(url))

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Session]:
        # One short transaction per call: callers run on MQTT network threads.
        try:
            with self._open_db.begin() as db:
                yield db
        except SQLAlchemyError as err:
            raise _translated(err, what) from err

    def book(self, bookings: Bookings) -> BookingResult:
        """Book a whole batch in one transaction; raises LedgerUnavailableError to retry later."""
        if not len(bookings):
            return BookingResult()
        try:
            with self.engine.begin() as connection:
                result = book_all(connection, self._insert, bookings, self._clock())
        except SQLAlchemyError as err:
            raise _translated(err, f"book {len(bookings)} messages") from err
        if result.repeated_sessions:
            log.info("%d sessions delivered again; each booked once", result.repeated_sessions)
        return result

    def book_session(self, site: str, record: SessionRecord) -> bool:
        """Book a closed session once; a re-delivery only counts itself. True if it was new."""
        result = self.book(Bookings(sessions=[SiteSession(site, record)]))
        return record.id in result.new_sessions

    def book_badge(self, site: str, machine: str, badge: Badge) -> bool:
        """Record a badge event once. True if it was new."""
        return self.book(Bookings(badges=[MachineEvent(site, machine, badge)])).new_badges == 1

    def record_state(self, site: str, machine: str, change: StateChange) -> bool:
        """Keep a machine's latest state; an older change arriving late is ignored. True if kept."""
        return self.book(Bookings(states=[MachineEvent(site, machine, change)])).states_kept == 1

    def dead_letter(self, topic: str, raw: bytes, error: str, *, field: str | None = None) -> int:
        """Keep a rejected message (a bounded prefix of its bytes); returns its dead-letter id."""
        row = DeadLetterRow(
            received_at=self._clock(),
            topic=topic,
            raw=kept_raw(raw),
            raw_size=len(raw),
            error=error,
            field=field,
        )
        with self._transaction(f"dead-letter a message on {topic!r}") as db:
            db.add(row)
            db.flush()
            return row.id

    def mark_replayed(self, letter_ids: Sequence[int]) -> None:
        """Mark dead letters as booked by a replay; they stay for the audit trail."""
        if not letter_ids:
            return
        with self._transaction(f"mark {len(letter_ids)} dead letters replayed") as db:
            db.execute(
                update(DeadLetterRow)
                .where(DeadLetterRow.id.in_(letter_ids))
                .values(replayed_at=self._clock())
            )

    def rated_powers(self, machines: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """The rated power in watts of those of the (site, machine) pairs registered with one."""
        wanted = list(machines)
        if not wanted:
            return {}
        query = select(MachineRow.site, MachineRow.id, MachineRow.rated_w).where(
            tuple_(MachineRow.site, MachineRow.id).in_(wanted), MachineRow.rated_w.is_not(None)
        )
        with self._transaction("read machines' rated power") as session:
            rows = session.execute(query).all()
        return {(site, machine): watts for site, machine, watts in rows if watts is not None}

    def sessions(
        self, *, site: str | None = None, machine: str | None = None, member: str | None = None
    ) -> Sequence[SessionRow]:
        """Booked sessions, oldest first, optionally of one site, machine or member."""
        query = select(SessionRow).order_by(SessionRow.started, SessionRow.id)
        if site is not None:
            query = query.where(SessionRow.site == site)
        if machine is not None:
            query = query.where(SessionRow.machine == machine)
        if member is not None:
            query = query.where(SessionRow.member == member)
        with self._transaction("read sessions") as db:
            return db.scalars(query).all()

    def badges(
        self, *, site: str | None = None, machine: str | None = None
    ) -> Sequence[BadgeEventRow]:
        """Badge events, oldest first, optionally of one site or machine."""
        query = select(BadgeEventRow).order_by(BadgeEventRow.at, BadgeEventRow.id)
        if site is not None:
            query = query.where(BadgeEventRow.site == site)
        if machine is not None:
            query = query.where(BadgeEventRow.machine == machine)
        with self._transaction("read badge events") as db:
            return db.scalars(query).all()

    def machine_states(self, *, site: str | None = None) -> Sequence[MachineStateRow]:
        """The latest known state of every machine (of one site)."""
        query = select(MachineStateRow).order_by(MachineStateRow.site, MachineStateRow.machine)
        if site is not None:
            query = query.where(MachineStateRow.site == site)
        with self._transaction("read machine states") as db:
            return db.scalars(query).all()

    def machine_state(self, site: str, machine: str) -> MachineStateRow | None:
        """The latest known state of one machine, if any was received."""
        with self._transaction("read a machine state") as db:
            return db.get(MachineStateRow, (site, machine))

    def dead_letters(
        self,
        *,
        limit: int | None = None,
        include_replayed: bool = False,
        oldest_first: bool = False,
    ) -> Sequence[DeadLetterRow]:
        """Rejected messages not yet replayed (or all), newest first unless asked otherwise."""
        order = DeadLetterRow.id.asc() if oldest_first else DeadLetterRow.id.desc()
        query = select(DeadLetterRow).order_by(order).limit(limit)
        if not include_replayed:
            query = query.where(DeadLetterRow.replayed_at.is_(None))
        with self._transaction("read dead letters") as db:
            return db.scalars(query).all()
