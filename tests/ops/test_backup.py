"""A backup restored into a fresh ledger holds the same rows, and the configuration comes back."""

from __future__ import annotations

import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from contract import EndReason, SessionRecord, card_hash
from harness.sql import PostgresServer
from services.ledger import (
    MachineRow,
    MachineSpec,
    Registry,
    SessionBook,
    SessionRow,
    open_ledger,
)
from services.ops import BackupError, backup, restore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T0 = 1_772_438_400_000


def _fill(ledger_url: str) -> None:
    engine = open_ledger(ledger_url)
    try:
        registry = Registry(engine)
        registry.add_member(member_id="giulia", name="Giulia Rossi", email="giulia@example.org")
        registry.save_machine(
            MachineSpec(
                site="nord", id="lathe-1", name="Tornio", gateway="gw-a", idle_amps=0.5, run_amps=2
            )
        )
        ledger = SessionBook(engine)
        record = SessionRecord(
            id="7d5f3c1e-8a9b-4c2d-9e0f-1a2b3c4d5e6f",
            ts=T0 + 600_000,
            machine="lathe-1",
            member="giulia",
            card=card_hash("04A1B2C3", b"site secret"),
            started=T0,
            ended=T0 + 600_000,
            unlocked_s=600.0,
            running_s=420.0,
            idle_s=120.0,
            energy_wh=812.5,
            end_reason=EndReason.BADGE_OUT,
            clock_ok=True,
        )
        assert ledger.book_session("nord", record)
    finally:
        engine.dispose()


def _snapshot(ledger_url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    engine = open_ledger(ledger_url)
    try:
        with Session(engine) as session:
            sessions: list[tuple[object, ...]] = [
                (r.id, r.member, r.started, r.running_s, r.energy_wh)
                for r in session.query(SessionRow).all()
            ]
            machines: list[tuple[object, ...]] = [
                (r.site, r.id, r.name, r.added_at) for r in session.query(MachineRow)
            ]
        return sessions, machines
    finally:
        engine.dispose()


@pytest.fixture
def config_files(tmp_path: Path) -> list[Path]:
    """The server's `.env` and gateway config, as a workshop keeps them."""
    env = tmp_path / "etc" / ".env"
    env.parent.mkdir()
    env.write_text("POSTGRES_PASSWORD=s3cret\n")
    gateway = tmp_path / "etc" / "gateway.toml"
    gateway.write_text('site = "nord"\n')
    return [env, gateway]


def test_a_backup_restores_the_same_ledger_and_config(
    ledger_url: str, tmp_path: Path, config_files: list[Path], request: pytest.FixtureRequest
) -> None:
    _fill(ledger_url)
    archive = tmp_path / "backups" / "officina.tar.gz"
    made = backup(ledger_url, archive=archive, config_files=config_files)
    assert made.rows["sessions"] == 1
    assert made.rows["machines"] == 1
    assert archive.stat().st_mode & 0o077 == 0

    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    if ledger_url.startswith("postgresql"):
        server: PostgresServer = request.getfixturevalue("postgres_server")
        fresh = server.create_database()
        request.addfinalizer(lambda: server.drop_database(fresh))
        target = server.url(fresh)
    restored = restore(archive, ledger_url=target, config_dir=tmp_path / "restored-config")

    assert restored.rows == made.rows
    assert _snapshot(target) == _snapshot(ledger_url)
    assert (tmp_path / "restored-config" / ".env").read_text() == "POSTGRES_PASSWORD=s3cret\n"
    # The restored ledger opens (its schema is at the current migration) and answers.
    engine = open_ledger(target)
    try:
        assert Registry(engine).member("giulia") is not None
    finally:
        engine.dispose()


def test_a_sqlite_backup_restores_into_postgresql(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    _fill(sqlite_url)
    archive = tmp_path / "officina.tar.gz"
    backup(sqlite_url, archive=archive)
    report = restore(archive, ledger_url=postgres_url)
    assert report.rows["sessions"] == 1
    assert _snapshot(postgres_url) == _snapshot(sqlite_url)


def test_restore_refuses_a_ledger_that_already_has_data(sqlite_url: str, tmp_path: Path) -> None:
    _fill(sqlite_url)
    archive = tmp_path / "officina.tar.gz"
    backup(sqlite_url, archive=archive)
    with pytest.raises(BackupError, match="exists: restore into a new file"):
        restore(archive, ledger_url=sqlite_url)


def test_restore_refuses_to_overwrite_config_unless_asked(
    sqlite_url: str, tmp_path: Path, config_files: list[Path]
) -> None:
    _fill(sqlite_url)
    archive = tmp_path / "officina.tar.gz"
    backup(sqlite_url, archive=archive, config_files=config_files)
    with pytest.raises(BackupError, match=r"\.env exists"):
        restore(
            archive,
            ledger_url=f"sqlite:///{tmp_path / 'new.sqlite3'}",
            config_dir=config_files[0].parent,
        )


def test_an_archive_that_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "photos.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        (tmp_path / "cat.jpg").write_bytes(b"\xff\xd8")
        tar.add(tmp_path / "cat.jpg", arcname="cat.jpg")
    with pytest.raises(BackupError, match=r"not an officina backup: manifest\.json"):
        restore(archive, ledger_url=f"sqlite:///{tmp_path / 'new.sqlite3'}")


def test_a_missing_config_file_is_named(sqlite_url: str, tmp_path: Path) -> None:
    _fill(sqlite_url)
    with pytest.raises(BackupError, match=r"config file .*nowhere\.toml: no such file"):
        backup(sqlite_url, archive=tmp_path / "a.tar.gz", config_files=[tmp_path / "nowhere.toml"])
