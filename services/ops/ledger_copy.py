"""Copy every ledger table row by row between two databases (any SQLAlchemy backend to any).

Used when no `pg_dump` matches the server, and to restore a SQLite backup into PostgreSQL.
The target is migrated to the same schema first and must be empty: a copy never merges.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, MetaData, event, func, select
from sqlalchemy.exc import SQLAlchemyError

from services.ops.errors import BackupError

log = logging.getLogger(__name__)

SKIPPED = frozenset({"alembic_version"})
CHUNK_ROWS = 1_000


def utc_sessions(engine: Engine) -> None:
    """Make PostgreSQL sessions speak UTC, so naive and aware instants mean the same."""
    if engine.dialect.name != "postgresql":
        return

    def set_utc(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()

    event.listen(engine, "connect", set_utc)


def row_counts(connection: Connection, metadata: MetaData) -> dict[str, int]:
    """Rows per table (alembic's bookkeeping left out)."""
    return {
        table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
        for table in metadata.sorted_tables
        if table.name not in SKIPPED
    }


def copy_tables(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every row of source into the (migrated, empty) target; rows copied per table."""
    source_meta, target_meta = MetaData(), MetaData()
    try:
        source_meta.reflect(source)
        target_meta.reflect(target)
        with source.connect() as reading, target.begin() as writing:
            filled = {n: c for n, c in row_counts(writing, target_meta).items() if c}
            if filled:
                raise BackupError(f"the target ledger is not empty: {filled}")
            copied: dict[str, int] = {}
            for table in target_meta.sorted_tables:
                if table.name in SKIPPED or table.name not in source_meta.tables:
                    continue
                origin = source_meta.tables[table.name]
                columns = [c.name for c in table.columns if c.name in origin.columns]
                result = reading.execute(select(*(origin.columns[c] for c in columns)))
                copied[table.name] = 0
                while rows := result.fetchmany(CHUNK_ROWS):
                    writing.execute(
                        table.insert(), [dict(zip(columns, r, strict=True)) for r in rows]
                    )
                    copied[table.name] += len(rows)
            _reset_sequences(writing, target_meta)
    except SQLAlchemyError as err:
        raise BackupError(f"copying the ledger failed: {err}") from err
    log.info("copied %d rows", sum(copied.values()))
    return copied


def _reset_sequences(connection: Connection, metadata: MetaData) -> None:
    # Rows copied with their ids leave PostgreSQL's serial counters behind: move them on.
    if connection.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1:
            continue
        (column,) = keys
        # NULL for a key that is not serial: nothing to move.
        sequence = connection.scalar(select(func.pg_get_serial_sequence(table.name, column.name)))
        if sequence:
            highest = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
            connection.execute(select(func.setval(sequence, highest, False)))
