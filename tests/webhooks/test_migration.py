"""The webhook tables come from migration 0012 and match their models, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect

from services.ledger.db import alembic_config, downgrade, migrate, open_ledger
from services.ledger.models import Base

WEBHOOK_TABLES = {"webhook_subscriptions", "webhook_events", "webhook_deliveries"}


def _only_webhook_tables(name: str | None, kind: str, parent: object) -> bool:
    return kind != "table" or name in WEBHOOK_TABLES


def test_0012_is_the_webhooks_migration() -> None:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0012")
    assert revision is not None and revision.path.endswith("0012_webhooks.py")


def test_the_webhook_tables_match_their_models(ledger_url: str) -> None:
    engine = open_ledger(ledger_url)
    try:
        assert set(inspect(engine).get_table_names()) >= WEBHOOK_TABLES
        ours = MetaData(naming_convention=Base.metadata.naming_convention)
        for table in WEBHOOK_TABLES:
            Base.metadata.tables[table].to_metadata(ours)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": _only_webhook_tables}
            )
            assert compare_metadata(context, ours) == []
    finally:
        engine.dispose()


def test_0012_goes_down_and_up_again(sqlite_url: str) -> None:
    engine = open_ledger(sqlite_url)
    try:
        previous = ScriptDirectory.from_config(alembic_config()).get_revision("0012")
        assert previous is not None
        downgrade(engine, str(previous.down_revision))
        assert not set(inspect(engine).get_table_names()) & WEBHOOK_TABLES
        migrate(engine, "head")
        assert set(inspect(engine).get_table_names()) >= WEBHOOK_TABLES
    finally:
        engine.dispose()
