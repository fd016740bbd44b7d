"""The ledger's schema comes from its Alembic migrations, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

import services
from services.ledger import Base, Registry, SessionBook, open_ledger
from services.ledger.db import alembic_config, at_head, downgrade, head_revision, migrate
from tests.ingest.examples import SITE, session_record

INGEST_TABLES = {"sessions", "badge_events", "dead_letters", "machine_states"}
REGISTRY_TABLES = {"members", "cards", "machines", "qualifications"}


def every_ledger_model() -> None:
    """Import each service's `models` module: all of them add their tables to the ledger's Base."""
    for models in sorted(Path(services.__path__[0]).glob("*/models.py")):
        importlib.import_module(f"services.{models.parent.name}.models")


def test_open_ledger_migrates_a_fresh_database_to_head(ledger_url: str) -> None:
    engine = open_ledger(ledger_url)
    try:
        assert set(inspect(engine).get_table_names()) >= INGEST_TABLES | REGISTRY_TABLES
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head
    finally:
        engine.dispose()


def test_migrations_and_models_agree(ledger_url: str) -> None:
    every_ledger_model()
    engine = open_ledger(ledger_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_opening_a_migrated_ledger_again_keeps_its_data(ledger_url: str) -> None:
    first = SessionBook.open(ledger_url)
    first.book_session(SITE, session_record())
    first.close()
    second = SessionBook.open(ledger_url)
    try:
        assert len(second.sessions()) == 1
    finally:
        second.close()


def test_the_head_read_off_the_file_names_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_ledger_one_migration_behind_is_brought_to_head_when_opened(ledger_url: str) -> None:
    engine = open_ledger(ledger_url)
    try:
        downgrade(engine, "-1")
        assert not at_head(engine)
    finally:
        engine.dispose()
    engine = open_ledger(ledger_url)
    try:
        assert at_head(engine)
    finally:
        engine.dispose()


def test_opening_a_ledger_at_head_leaves_alembic_unloaded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_ledger(url).dispose()  # made and migrated here, in this process
    # A service starting on it: one read of the schema's revision, no Alembic in its memory.
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from services.ledger import open_ledger; open_ledger(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(services.__path__[0]).parent,
    )
    assert opened.stdout.strip() == "[]"


def test_migrations_go_down_to_nothing_and_up_again(ledger_url: str) -> None:
    engine = open_ledger(ledger_url)
    try:
        downgrade(engine, "base")
        assert not INGEST_TABLES & set(inspect(engine).get_table_names())
        migrate(engine, "head")
        assert set(inspect(engine).get_table_names()) >= INGEST_TABLES
    finally:
        engine.dispose()


def test_a_machine_registered_before_0006_gets_the_default_session_rules(ledger_url: str) -> None:
    engine = open_ledger(ledger_url)
    try:
        downgrade(engine, "0005")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO machines (site, id, name, gateway, idle_amps, run_amps, "
                    "hysteresis_amps, min_dwell_s, added_at) VALUES ('officine-zero', "
                    "'lathe-1', 'Tornio', 'gw-1', 0.8, 4.0, 0.3, 2.0, '2026-01-01 00:00:00+00')"
                )
            )
        migrate(engine, "head")
        [machine] = Registry(engine).machines()
        rules = (machine.idle_timeout_s, machine.max_duration_s, machine.warn_before_s)
        assert rules == (900.0, 28_800.0, 60.0)
        assert (machine.idle_amps, machine.run_amps) == (0.8, 4.0)
    finally:
        engine.dispose()


def test_0008_adds_machine_photos_after_0007_and_takes_them_away_again(sqlite_url: str) -> None:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0008")
    assert revision is not None and revision.down_revision == "0007"
    engine = open_ledger(sqlite_url)
    try:
        assert "machine_photos" in inspect(engine).get_table_names()
        downgrade(engine, "0007")
        assert "machine_photos" not in inspect(engine).get_table_names()
        migrate(engine, "head")
        assert "machine_photos" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_0011_keeps_old_statements_and_allows_one_per_member_party_and_month(
    ledger_url: str,
) -> None:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0011")
    assert revision is not None and revision.down_revision == "0010"
    insert = (
        "INSERT INTO statements (kind, member, month, revision, status, member_name, locale, "
        "currency, net_cents, vat_cents, total_cents, made_at{party}) VALUES ('statement', "
        "'giulia', '2026-10', 1, 'draft', 'Giulia', 'it', 'EUR', 100, 22, 122, "
        "'2026-11-01 00:00:00+00'{value})"
    )
    engine = open_ledger(ledger_url)
    try:
        downgrade(engine, "0010")
        with engine.begin() as connection:
            connection.execute(text(insert.format(party="", value="")))
        migrate(engine, "head")
        with engine.begin() as connection:
            kept = connection.execute(text("SELECT member, party_id FROM statements")).all()
            assert [tuple(row) for row in kept] == [("giulia", None)]
            connection.execute(text(insert.format(party=", party_id", value=", 7")))
        # A second statement with no party, like a second one for party 7, is refused.
        for party, value in (("", ""), (", party_id", ", 7")):
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text(insert.format(party=party, value=value)))
    finally:
        engine.dispose()
