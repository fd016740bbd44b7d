"""What every store over the ledger's tables shares: its engine, its clock and one short
transaction per call, a database error raised as a LedgerError that says what was being done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.ledger.errors import LedgerError


def utc_now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


class LedgerStore:
    """A store of some of the ledger's tables."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self._clock = clock
        self._open_db = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Session]:
        try:
            with self._open_db.begin() as db:
                yield db
        except SQLAlchemyError as err:
            raise LedgerError(f"{what}: {err}") from err
