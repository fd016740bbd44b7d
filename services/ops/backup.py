"""`officina backup` / `officina restore`: the ledger and the configuration in one archive.

The archive is a gzip tar holding `manifest.json`, the ledger as `ledger.sqlite3` (SQLite's
online backup API, or PostgreSQL copied table by table) or `ledger.sql` (`pg_dump`, when one
that matches the server is installed), and the configuration files under `config/`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from services.ledger import LedgerError, open_ledger
from services.ledger.db import make_engine, require_existing
from services.ops.errors import BackupError
from services.ops.ledger_copy import copy_tables, row_counts, utc_sessions

log = logging.getLogger(__name__)

FORMAT = 1
SQLITE_MEMBER = "ledger.sqlite3"
SQL_MEMBER = "ledger.sql"
MANIFEST = "manifest.json"
CONFIG_DIR = "config"


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What an archive holds: how the ledger was saved, rows per table, configuration files."""

    archive: Path
    ledger_format: str  # "sqlite", "pg_dump" or "table-copy"
    rows: dict[str, int]
    config_files: tuple[str, ...]


def _url(ledger_url: str) -> URL:
    try:
        return make_url(ledger_url)
    except ArgumentError as err:
        raise BackupError(f"ledger url: {err}") from err


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("ledger url: a SQLite ledger must be a file")
    return Path(url.database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    # The password goes in the environment, not on a command line anyone can read.
    env = {**os.environ, "PGPASSWORD": url.password or ""} if url.password else dict(os.environ)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return row_counts(connection, metadata)
    except SQLAlchemyError as err:
        raise BackupError(f"cannot read the ledger: {err}") from err
    finally:
        engine.dispose()


def _sqlite_backup(source: Path, target: Path) -> None:
    # The online backup API copies a consistent snapshot while ingest keeps writing.
    try:
        with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(target)) as out:
            reading.backup(out)
    except sqlite3.Error as err:
        raise BackupError(f"sqlite backup of {source}: {err}") from err


def _pg_dump(url: URL, target: Path) -> bool:
    binary = shutil.which("pg_dump")
    if binary is None:
        return False
    dsn, env = _libpq(url)
    done = subprocess.run(
        [binary, "--no-owner", "--no-privileges", "--format=plain", f"--file={target}", dsn],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        log.warning("pg_dump failed, copying tables instead: %s", done.stderr.strip())
        return False
    return True


def _dump_ledger(url: URL, workdir: Path) -> tuple[str, str]:
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"ledger {source}: no such file")
        _sqlite_backup(source, workdir / SQLITE_MEMBER)
        return "sqlite", SQLITE_MEMBER
    if url.get_backend_name() != "postgresql":
        raise BackupError(f"ledger url: cannot back up {url.get_backend_name()!r}")
    if _pg_dump(url, workdir / SQL_MEMBER):
        return "pg_dump", SQL_MEMBER
    server = create_engine(url)
    utc_sessions(server)
    copy = _open(f"sqlite:///{workdir / SQLITE_MEMBER}")
    try:
        copy_tables(server, copy)
    finally:
        server.dispose()
        copy.dispose()
    return "table-copy", SQLITE_MEMBER


def _open(ledger_url: str) -> Engine:
    try:
        return open_ledger(ledger_url)
    except LedgerError as err:
        raise BackupError(f"cannot open the ledger: {err}") from err


def _require_ledger(ledger_url: str) -> None:
    # Counting rows would make an empty SQLite file, and the archive would hold nothing.
    try:
        engine = make_engine(ledger_url)
    except LedgerError as err:
        raise BackupError(str(err)) from err
    try:
        require_existing(engine)
    except LedgerError as err:
        raise BackupError(str(err)) from err
    finally:
        engine.dispose()


def backup(ledger_url: str, *, archive: Path, config_files: Sequence[Path] = ()) -> BackupReport:
    """Write an archive of the ledger and the configuration files."""
    url = _url(ledger_url)
    names = [path.name for path in config_files]
    if len(set(names)) != len(names):
        raise BackupError(f"config files: two share a name in {names}")
    for path in config_files:
        if not path.is_file():
            raise BackupError(f"config file {path}: no such file")
    _require_ledger(ledger_url)
    rows = _counts(ledger_url)
    with tempfile.TemporaryDirectory(prefix="officina-backup-") as scratch:
        workdir = Path(scratch)
        how, member = _dump_ledger(url, workdir)
        manifest = {
            "format": FORMAT,
            "made_at": datetime.now(UTC).isoformat(),
            "backend": url.get_backend_name(),
            "ledger": {"how": how, "member": member, "rows": rows},
            "config": names,
        }
        (workdir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        try:
            archive.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
                tar.add(workdir / MANIFEST, arcname=MANIFEST)
                tar.add(workdir / member, arcname=member)
                for path in config_files:
                    tar.add(path, arcname=f"{CONFIG_DIR}/{path.name}")
        except OSError as err:
            raise BackupError(f"cannot write {archive}: {err}") from err
    log.info("backed up %d rows and %d config files to %s", sum(rows.values()), len(names), archive)
    return BackupReport(archive, how, rows, tuple(names))


def _manifest(workdir: Path) -> tuple[str, str, dict[str, int], list[str]]:
    try:
        manifest = json.loads((workdir / MANIFEST).read_text(encoding="utf-8"))
        ledger = manifest["ledger"]
        rows = {str(k): int(v) for k, v in ledger["rows"].items()}
        config = [str(name) for name in manifest["config"]]
        if manifest["format"] != FORMAT:
            raise BackupError(
                f"manifest format {manifest['format']!r}: this officina reads {FORMAT}"
            )
        return str(ledger["how"]), str(ledger["member"]), rows, config
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise BackupError(f"not an officina backup: manifest.json: {err}") from err


def _unpack(archive: Path, workdir: Path) -> None:
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            # The data filter refuses absolute paths, `..` and links out of the directory.
            tar.extractall(workdir, filter="data")
    except (OSError, tarfile.TarError) as err:
        raise BackupError(f"{archive}: cannot read the archive: {err}") from err


def _restore_ledger(how: str, member: Path, ledger_url: str) -> None:
    url = _url(ledger_url)
    backend = url.get_backend_name()
    if backend == "sqlite" and member.name == SQLITE_MEMBER:
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"ledger {target} exists: restore into a new file")
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_backup(member, target)
    elif backend == "postgresql" and member.name == SQL_MEMBER:
        _psql(url, member)
    elif member.name == SQLITE_MEMBER:
        saved = create_engine(f"sqlite:///{member}")
        ledger = _open(ledger_url)
        utc_sessions(ledger)
        try:
            copy_tables(saved, ledger)
        finally:
            saved.dispose()
            ledger.dispose()
    else:
        raise BackupError(f"a {how} backup cannot be restored into a {backend} ledger")


def _psql(url: URL, script: Path) -> None:
    if _counts(url.render_as_string(hide_password=False)):
        raise BackupError("the target PostgreSQL database is not empty: restore into a new one")
    binary = shutil.which("psql")
    if binary is None:
        raise BackupError("this backup was made with pg_dump: restoring it needs psql")
    dsn, env = _libpq(url)
    done = subprocess.run(
        [binary, "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--single-transaction",
         f"--file={script}", dsn],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"psql could not restore the dump: {done.stderr.strip()[:500]}")


def restore(
    archive: Path, *, ledger_url: str, config_dir: Path | None = None, overwrite: bool = False
) -> BackupReport:
    """Restore the ledger into an empty database, and the configuration into config_dir."""
    with tempfile.TemporaryDirectory(prefix="officina-restore-") as scratch:
        workdir = Path(scratch)
        _unpack(archive, workdir)
        how, member, rows, config = _manifest(workdir)
        _restore_ledger(how, workdir / member, ledger_url)
        if config_dir is not None:
            config_dir.mkdir(parents=True, exist_ok=True)
            for name in config:
                target = config_dir / name
                if target.exists() and not overwrite:
                    raise BackupError(f"{target} exists (use --overwrite to replace it)")
                shutil.copyfile(workdir / CONFIG_DIR / name, target)
                target.chmod(0o600)
    restored = _counts(ledger_url)
    if restored != rows:
        raise BackupError(f"restored ledger differs from the backup: {restored} != {rows}")
    log.info("restored %d rows from %s", sum(rows.values()), archive)
    return BackupReport(archive, how, rows, tuple(config))
