"""The harness's ledger databases: a SQLite file, and a fresh database on PostgreSQL per test."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from harness import PostgresServer


def create_and_read_a_table(url: str) -> list[tuple[str, int]]:
    """Create a table in the database at url, insert a row, and read it back."""
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        machines = sa.Table(
            "machines",
            metadata,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("run_amps_ma", sa.Integer, nullable=False),
        )
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(machines.insert().values(id="lathe-1", run_amps_ma=1500))
        with engine.connect() as connection:
            return [(row.id, row.run_amps_ma) for row in connection.execute(sa.select(machines))]
    finally:
        engine.dispose()


def test_postgres_url_is_a_database_of_the_tests_own(postgres_url: str) -> None:
    url = make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.database is not None and url.database.startswith("test_")

    assert create_and_read_a_table(postgres_url) == [("lathe-1", 1500)]

    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT current_database()")) == url.database
    finally:
        engine.dispose()


def test_ledger_url_holds_a_table_on_each_backend(ledger_url: str) -> None:
    assert create_and_read_a_table(ledger_url) == [("lathe-1", 1500)]


def test_dropping_a_database_ends_the_sessions_left_open_on_it(
    postgres_server: PostgresServer,
) -> None:
    name = postgres_server.create_database()
    left_open = psycopg.connect(
        postgres_server.url(name).replace("postgresql+psycopg", "postgresql")
    )
    try:
        postgres_server.drop_database(name)
    finally:
        left_open.close()

    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(host=postgres_server.host, user=postgres_server.user, dbname=name).close()
