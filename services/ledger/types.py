"""Column types shared by the ledger's models and its migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC (naive on SQLite so text comparison orders)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the ledger stores timezone-aware UTC instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Always hand back an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def from_epoch_ms(ms: int) -> datetime:
    """The UTC instant of a wire timestamp (epoch milliseconds)."""
    # Exact arithmetic: a float division would round some milliseconds away.
    return _EPOCH + timedelta(milliseconds=ms)


def to_epoch_ms(instant: datetime) -> int:
    """A UTC instant as a wire timestamp (epoch milliseconds)."""
    return (instant - _EPOCH) // timedelta(milliseconds=1)
