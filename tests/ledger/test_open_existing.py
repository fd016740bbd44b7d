"""Commands that only read never make an empty ledger: a ledger nobody made is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from officina.cli import app
from services.ledger import LedgerMissingError, open_existing, open_ledger
from services.ledger.db import make_engine, sqlite_file

runner = CliRunner()


def _file_of(url: str) -> Path | None:
    return sqlite_file(make_url(url))


def test_a_ledger_nobody_made_is_refused_with_how_to_make_one(ledger_url: str) -> None:
    with pytest.raises(LedgerMissingError) as caught:
        open_existing(ledger_url)
    assert "officina ingest run" in str(caught.value) and "--ledger" in str(caught.value)
    path = _file_of(ledger_url)
    assert path is None or not path.exists()


def test_an_empty_database_stays_without_tables(postgres_url: str) -> None:
    with pytest.raises(LedgerMissingError, match="no ledger tables"):
        open_existing(postgres_url)
    engine = open_ledger(postgres_url)  # only now is the ledger made
    try:
        assert inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()


def test_a_ledger_once_made_opens_for_reading(ledger_url: str) -> None:
    open_ledger(ledger_url).dispose()
    engine = open_existing(ledger_url)
    try:
        assert inspect(engine).has_table("sessions")
    finally:
        engine.dispose()


BROKER_FILES = ["--password-file", "passwd", "--acl-file", "acl"]
SERVICE_PASSWORDS = ["--ingest-password", "ingest-pw-long-1", "--api-password", "api-pw-long-22"]
READ_ONLY_COMMANDS = [
    ["statements", "list", "--month", "2026-10"],
    ["statements", "export", "--month", "2026-10", "--to", "out"],
    ["billing", "tariff", "list"],
    ["billing", "pool", "list", "--month", "2026-10"],
    ["ingest", "dead-letters"],
    ["backup", "--to", "backup.tar.gz"],
    ["broker-acl", *SERVICE_PASSWORDS, *BROKER_FILES],
]


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_a_command_that_only_reads_leaves_no_ledger_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "typo" / "officina.db"
    result = runner.invoke(app, [*command, "--ledger", f"sqlite:///{missing}"])
    shown = " ".join(result.output.split())
    assert result.exit_code == 1, shown
    assert f"no ledger at {missing}" in shown and "officina ingest run" in shown
    assert not missing.exists() and not missing.parent.exists()


def test_a_listing_on_an_empty_postgresql_database_makes_no_tables(postgres_url: str) -> None:
    result = runner.invoke(
        app, ["statements", "list", "--month", "2026-10", "--ledger", postgres_url]
    )
    assert result.exit_code == 1
    assert "no ledger tables in" in " ".join(result.output.split())
    engine = make_engine(postgres_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
