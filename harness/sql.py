"""Throw-away ledger databases: a SQLite file, or a fresh database on the local PostgreSQL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql

from harness.errors import HarnessError

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_ADMIN = "postgres"
CONNECT_TIMEOUT_S = 3


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """The PostgreSQL the tests borrow: it trusts user `postgres` on loopback."""

    host: str = POSTGRES_HOST
    port: int = POSTGRES_PORT
    user: str = POSTGRES_ADMIN

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname="postgres",
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,
        )

    def unavailable_reason(self) -> str | None:
        """None when the server answers; else why it does not."""
        try:
            with self._admin() as admin:
                admin.execute("SELECT 1")
        except psycopg.Error as err:
            return f"PostgreSQL at {self.host}:{self.port} (user {self.user}) not usable: {err}"
        return None

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """Create a database with a fresh random name and return the name."""
        name = f"test_{secrets.token_hex(6)}"
        try:
            with self._admin() as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as err:
            raise HarnessError(f"cannot create database {name}: {err}") from err
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, first ending the sessions a test left open on it."""
        try:
            with self._admin() as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        except psycopg.Error as err:
            raise HarnessError(f"cannot drop database {name}: {err}") from err
