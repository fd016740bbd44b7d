"""The ledger as ingest sees it: idempotent bookings and the queries that read them back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from contract import Badge, SessionRecord, StateChange
from services.ledger.db import open_ledger
from services.ledger.errors import LedgerError
from services.ledger.models import BadgeEventRow, DeadLetterRow, MachineStateRow, SessionRow
from services.ledger.types import from_epoch_ms

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """Books what ingest receives; every booking is safe to repeat."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.engine = engine
        self._clock = clock
        # Rows handed out must stay readable after their transaction ends.
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if engine.dialect.name not in dialects:
            raise LedgerError(
                f"ledger url: {engine.dialect.name} is not supported (sqlite, postgresql)"
            )
        self._insert: Callable[[Any], Any] = dialects[engine.dialect.name]

    @classmethod
    def open(cls, url: str) -> Ledger:
        """Open (and migrate) the ledger at a SQLAlchemy URL."""
        return cls(open_ledger(url))

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Session]:
        # One short transaction per call: callers run on MQTT network threads.
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as err:
            raise LedgerError(f"{what}: {err}") from err

    def book_session(self, site: str, record: SessionRecord) -> bool:
        """Book a closed session once; a re-delivery only counts itself. True if it was new."""
        values = {
            "id": record.id,
            "site": site,
            "machine": record.machine,
            "member": record.member,
            "card_hash": record.card,
            "started": from_epoch_ms(record.started),
            "ended": from_epoch_ms(record.ended),
            "unlocked_s": record.unlocked_s,
            "running_s": record.running_s,
            "idle_s": record.idle_s,
            "energy_wh": record.energy_wh,
            "end_reason": record.end_reason.value,
            "clock_ok": record.clock_ok,
            "received_at": self._clock(),
            "deliveries": 1,
        }
        statement = (
            self._insert(SessionRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=[SessionRow.id])
            .returning(SessionRow.id)
        )
        with self._transaction(f"book session {record.id}") as session:
            if session.execute(statement).first() is not None:
                return True
            session.execute(
                update(SessionRow)
                .where(SessionRow.id == record.id)
                .values(deliveries=SessionRow.deliveries + 1)
            )
        log.info("session %s delivered again; booked once", record.id)
        return False

    def book_badge(self, site: str, machine: str, badge: Badge) -> bool:
        """Record a badge event once. True if it was new."""
        values = {
            "id": badge.id,
            "site": site,
            "machine": machine,
            "card_hash": badge.card,
            "decision": badge.decision.value,
            "reason": badge.reason,
            "member": badge.member,
            "session": badge.session,
            "at": from_epoch_ms(badge.ts),
            "received_at": self._clock(),
        }
        statement = (
            self._insert(BadgeEventRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=[BadgeEventRow.id])
            .returning(BadgeEventRow.id)
        )
        with self._transaction(f"book badge {badge.id}") as session:
            return session.execute(statement).first() is not None

    def record_state(self, site: str, machine: str, change: StateChange) -> bool:
        """Keep a machine's latest state; an older change arriving late is ignored. True if kept."""
        since, ts = from_epoch_ms(change.since), from_epoch_ms(change.ts)
        values = {
            "site": site,
            "machine": machine,
            "state": change.state.value,
            "member": change.member,
            "session": change.session,
            "since": since,
            "ts": ts,
            "received_at": self._clock(),
        }
        statement = self._insert(MachineStateRow).values(values)
        newer = or_(
            MachineStateRow.since < statement.excluded.since,
            and_(
                MachineStateRow.since == statement.excluded.since,
                MachineStateRow.ts < statement.excluded.ts,
            ),
        )
        statement = statement.on_conflict_do_update(
            index_elements=[MachineStateRow.site, MachineStateRow.machine],
            set_={key: statement.excluded[key] for key in values if key not in ("site", "machine")},
            where=newer,
        ).returning(MachineStateRow.site)
        with self._transaction(f"record state of {site}/{machine}") as session:
            return session.execute(statement).first() is not None

    def dead_letter(self, topic: str, raw: bytes, error: str, *, field: str | None = None) -> int:
        """Keep a rejected message with its raw bytes; returns its dead-letter id."""
        row = DeadLetterRow(
            received_at=self._clock(), topic=topic, raw=bytes(raw), error=error, field=field
        )
        with self._transaction(f"dead-letter a message on {topic!r}") as session:
            session.add(row)
            session.flush()
            return row.id

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
        with self._transaction("read sessions") as session:
            return session.scalars(query).all()

    def badges(
        self, *, site: str | None = None, machine: str | None = None
    ) -> Sequence[BadgeEventRow]:
        """Badge events, oldest first, optionally of one site or machine."""
        query = select(BadgeEventRow).order_by(BadgeEventRow.at, BadgeEventRow.id)
        if site is not None:
            query = query.where(BadgeEventRow.site == site)
        if machine is not None:
            query = query.where(BadgeEventRow.machine == machine)
        with self._transaction("read badge events") as session:
            return session.scalars(query).all()

    def machine_states(self, *, site: str | None = None) -> Sequence[MachineStateRow]:
        """The latest known state of every machine (of one site)."""
        query = select(MachineStateRow).order_by(MachineStateRow.site, MachineStateRow.machine)
        if site is not None:
            query = query.where(MachineStateRow.site == site)
        with self._transaction("read machine states") as session:
            return session.scalars(query).all()

    def machine_state(self, site: str, machine: str) -> MachineStateRow | None:
        """The latest known state of one machine, if any was received."""
        with self._transaction("read a machine state") as session:
            return session.get(MachineStateRow, (site, machine))

    def dead_letters(self, *, limit: int | None = None) -> Sequence[DeadLetterRow]:
        """Rejected messages, newest first."""
        query = select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(limit)
        with self._transaction("read dead letters") as session:
            return session.scalars(query).all()
