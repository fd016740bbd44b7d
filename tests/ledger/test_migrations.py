"""The ledger's schema comes from its Alembic migrations, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import services
from services.ledger import Base, Registry, SessionBook, open_ledger
from services.ledger.db import alembic_config, downgrade, migrate
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
