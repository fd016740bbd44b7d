"""The api's tables come from migration 0004, chained after billing's 0003, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect

import services.api.models  # noqa: F401  (puts the api's tables on the ledger's metadata)
from services.ledger.db import alembic_config, downgrade, migrate, open_ledger
from services.ledger.models import Base

API_TABLES = {
    "api_users",
    "api_tokens",
    "gateway_credentials",
    "acl_versions",
    "gateway_config_versions",
}


def test_0004_follows_billings_0003() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    revision = scripts.get_revision("0004")
    assert revision is not None and revision.down_revision == "0003"


def test_0006_machine_policy_is_the_head_after_0005() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    revision = scripts.get_revision("0006")
    assert revision is not None and revision.down_revision == "0005"
    assert scripts.get_current_head() == "0006"


def test_the_api_tables_match_their_models(ledger_url: str) -> None:
    engine = open_ledger(ledger_url)
    try:
        assert set(inspect(engine).get_table_names()) >= API_TABLES
        ours = MetaData(naming_convention=Base.metadata.naming_convention)
        for table in API_TABLES:
            Base.metadata.tables[table].to_metadata(ours)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_name": _only_api_tables},
            )
            assert compare_metadata(context, ours) == []
    finally:
        engine.dispose()


def _only_api_tables(name: str | None, kind: str, parent: object) -> bool:
    return kind != "table" or name in API_TABLES


def test_0004_goes_down_and_up_again(sqlite_url: str) -> None:
    engine = open_ledger(sqlite_url)
    try:
        downgrade(engine, "0003")
        assert not API_TABLES & set(inspect(engine).get_table_names())
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= API_TABLES
    finally:
        engine.dispose()
