"""Open the ledger: make the engine, tune SQLite, and migrate the schema to head."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from services.ledger.errors import LedgerError, MigrationError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant will do: it only has to be the same for every process migrating one database.
_PG_MIGRATION_LOCK = 0x0FF1C1A
SQLITE_BUSY_TIMEOUT_MS = 5000


def make_engine(url: str) -> Engine:
    """An engine for the ledger URL, with SQLite set up for a service writing from threads."""
    try:
        parsed = make_url(url)
        engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    except (ArgumentError, ValueError, ImportError) as err:
        raise LedgerError(f"ledger url: {err}") from err
    if engine.dialect.name == "sqlite":
        # `?timeout=<seconds>` in the URL sets how long a writer waits for a lock (pysqlite).
        wait_ms = None if "timeout" in parsed.query else SQLITE_BUSY_TIMEOUT_MS
        event.listen(engine, "connect", lambda conn, _record: _tune_sqlite(conn, wait_ms))
    return engine


def _tune_sqlite(dbapi_connection: Any, busy_timeout_ms: int | None) -> None:
    # WAL lets readers (the api, the cli) run while ingest writes; SQLite leaves FKs off by default.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if busy_timeout_ms is not None:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def alembic_config() -> Config:
    """Alembic's configuration for the migrations shipped inside this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the ledger's schema to a revision (head by default)."""
    _run_alembic(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the ledger's schema back down to a revision (`base` drops every table)."""
    _run_alembic(engine, command.downgrade, revision)


def _run_alembic(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Two services starting together must not both create the same tables.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            config.attributes["connection"] = connection
            step(config, revision)
    except SQLAlchemyError as err:
        raise MigrationError(f"could not migrate the ledger to {revision}: {err}") from err


def open_ledger(url: str) -> Engine:
    """An engine on the ledger at url, its schema upgraded to head (fresh databases included)."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    migrate(engine)
    log.info("ledger ready at %s", engine.url.render_as_string(hide_password=True))
    return engine
