"""Ingest subscribes to every site, so each of its tests gets a broker of its own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.mosquitto import MosquittoServer
from harness.plugin import running_in_ci
from harness.postgres_private import PrivatePostgres, start_private_postgres

# What an ingest broker needs (and the production config sets): no cap on the messages queued
# for a client that is away, or a long outage silently drops the backlog (the default is 1,000).
INGEST_BROKER_SETTINGS = "max_queued_messages 0\n"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A fresh broker that queues without limit for ingest's persistent session."""
    server = MosquittoServer(workdir=tmp_path / "mosquitto")
    with server.config_path.open("a") as config:
        config.write(INGEST_BROKER_SETTINGS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of the tests' own, which outage tests stop and start; skipped if impossible."""
    try:
        server = start_private_postgres()
    except HarnessError as err:
        if running_in_ci():
            pytest.fail(f"{err} (CI is set: the PostgreSQL outage tests must run)", pytrace=False)
        pytest.skip(f"cannot run a private PostgreSQL here: {err}")
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def private_postgres_url(private_postgres: PrivatePostgres) -> str:
    """A fresh database on the private server, which is running when the test starts."""
    if not private_postgres.answers():
        private_postgres.start()
    return private_postgres.create_database(f"test_{secrets.token_hex(6)}")
