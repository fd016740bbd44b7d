"""What every part of billing's store shares: the engine, the clock and one transaction per call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.billing.errors import BillingError, BillingInputError

Progress = Callable[[int], None]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def no_progress(_done: int) -> None:
    """Progress reported to nobody."""
    return None


class StoreBase:
    """An engine, a clock and the dialect's upsert; each public method is one transaction."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self.engine = engine
        self._clock = clock
        self._open_db = sessionmaker(engine, expire_on_commit=False)
        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if engine.dialect.name not in dialects:
            raise BillingError(f"ledger url: {engine.dialect.name} is not supported")
        self._upsert: Callable[[Any], Any] = dialects[engine.dialect.name]

    def now(self) -> datetime:
        """The store's clock: when issuing, drafting and sending happen."""
        return self._clock()

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Session]:
        try:
            with self._open_db.begin() as db:
                yield db
        except IntegrityError as err:
            raise BillingInputError(what, f"refused by the ledger: {err.orig}") from err
        except SQLAlchemyError as err:
            raise BillingError(f"{what}: {err}") from err
