"""Open the ledger: make the engine, tune SQLite, and migrate the schema to head.

Several services may open one fresh ledger at the same moment (two ingest processes on a shared
subscription, the api next to them), so a migration runs under a lock that every process
migrating that database takes: a transaction-level advisory lock on PostgreSQL, and on SQLite,
whose DDL does not run inside one transaction, an exclusive `flock` on a file next to the
database (`<database>.migration-lock`, left in place: removing it would let a waiting process
lock a file nobody else sees). The process that waits finds the schema current and does nothing.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from services.ledger.errors import LedgerError, LedgerMissingError, MigrationError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Where every command finds the ledger when told nothing: a SQLite file in the working directory.
DEFAULT_LEDGER_URL = "sqlite:///officina.db"
# Any constant will do: it only has to be the same for every process migrating one database.
_PG_MIGRATION_LOCK = 0x0FF1C1A
SQLITE_BUSY_TIMEOUT_MS = 5000
# What a command that only reads says when it finds no ledger: the commands that make one.
HOW_TO_MAKE_ONE = (
    "a ledger is made by the commands that write to it (`officina ingest run`, "
    "`officina api run` or `officina statements run`); "
    "or give --ledger (OFFICINA_LEDGER) the ledger you meant"
)


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
    elif engine.dialect.driver == "psycopg":
        event.listen(engine, "connect", lambda conn, _record: _send_lists_binary(conn))
    return engine


def shown_url(url: str) -> str:
    """The ledger URL without its password, for logs; the text as given when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparsable ledger url)"


def _send_lists_binary(dbapi_connection: Any) -> None:
    # The ledger passes lists only as the column arrays of a batch (see bookings); psycopg
    # sends them as text by default, quoting each element in Python, which for a batch of
    # 5,000 sessions cost more than the database's work. Binary arrays need no quoting.
    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the ledger's schema to a revision (head by default)."""
    from alembic import command

    _run_alembic(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the ledger's schema back down to a revision (`base` drops every table)."""
    from alembic import command

    _run_alembic(engine, command.downgrade, revision)


def head_revision() -> str:
    """The newest migration's revision, read off the file names (`0019_….py` is "0019").

    Without Alembic: loading it and every migration to find the schema already at head cost
    each service some 40 MB it kept for good. A test holds this equal to Alembic's own head.
    """
    numbered = (p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    return max(numbered)


def at_head(engine: Engine) -> bool:
    """Whether the ledger's schema is at head: one read, no Alembic (False if never migrated)."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return False  # no ledger yet, or one Alembic never touched: migrate() says what is wrong
    return [row[0] for row in found] == [head_revision()]


def upgrade_if_behind(engine: Engine) -> None:
    """Migrate to head, unless the schema is there already (the common start: no Alembic then)."""
    if not at_head(engine):
        migrate(engine)


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database (or another backend)."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        if database.startswith("file::memory:") or "mode=memory" in database:
            return None
        return Path(urlparse(database).path)
    return Path(database).expanduser()


WAITING_FOR_MIGRATION = "another process is migrating the ledger at %s; waiting for it"


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction on the ledger holding the lock that every migrating process takes."""
    where = engine.url.render_as_string(hide_password=True)
    with _sqlite_file_lock(engine, where), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Released with the transaction. The process that waited reads, in its next
            # statements, what the first committed, and finds the schema at head.
            key = {"key": _PG_MIGRATION_LOCK}
            if not connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), key).scalar():
                log.info(WAITING_FOR_MIGRATION, where)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), key)
        yield connection


@contextmanager
def _sqlite_file_lock(engine: Engine, where: str) -> Iterator[None]:
    database = sqlite_file(engine.url)
    if database is None:
        yield  # not SQLite, or an in-memory database, which belongs to one process
        return
    lock_path = database.with_name(database.name + ".migration-lock")
    try:
        lock = lock_path.open("a")
    except OSError as err:
        raise MigrationError(f"cannot open the migration lock {lock_path}: {err}") from err
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info(WAITING_FOR_MIGRATION, where)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_alembic(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config()
    try:
        with migration_lock(engine) as connection:
            config.attributes["connection"] = connection
            step(config, revision)
    except SQLAlchemyError as err:
        raise MigrationError(f"could not migrate the ledger to {revision}: {err}") from err


def schema_revisions(engine: Engine) -> tuple[str | None, str | None]:
    """The ledger's schema revision now (None: never migrated) and the head it should be at."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as err:
        raise LedgerError(f"cannot read the ledger at {shown_url(str(engine.url))}: {err}") from err
    return current, head


def open_ledger(url: str) -> Engine:
    """An engine on the ledger at url, its schema upgraded to head (fresh databases included)."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    upgrade_if_behind(engine)
    log.info("ledger ready at %s", engine.url.render_as_string(hide_password=True))
    return engine


def open_existing(url: str) -> Engine:
    """An engine on a ledger that was made before, its schema upgraded to head; never a new one.

    Commands that only read (lists, exports, backups) open the ledger this way, so a mistyped
    path is refused instead of leaving an empty ledger behind that the next command trusts.
    """
    engine = make_engine(url)
    try:
        require_existing(engine)
        upgrade_if_behind(engine)
    except LedgerError:
        engine.dispose()
        raise
    log.info("ledger opened at %s", engine.url.render_as_string(hide_password=True))
    return engine


def require_existing(engine: Engine) -> None:
    """Refuse a ledger never made: no SQLite file, or a database without the ledger's tables."""
    where = engine.url.render_as_string(hide_password=True)
    if engine.dialect.name == "sqlite":
        database = sqlite_file(engine.url)
        if database is None:
            raise LedgerMissingError(f"no ledger in {where}: an in-memory ledger starts empty")
        # Checked before connecting: SQLite makes the file on the first connection.
        if not database.is_file():
            raise LedgerMissingError(f"no ledger at {database}: {HOW_TO_MAKE_ONE}")
    try:
        with engine.connect() as connection:
            made = inspect(connection).has_table("alembic_version")
    except SQLAlchemyError as err:
        raise LedgerError(f"cannot read the ledger at {where}: {err}") from err
    if not made:
        raise LedgerMissingError(f"no ledger tables in {where}: {HOW_TO_MAKE_ONE}")
