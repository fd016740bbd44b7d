"""The pytest fixtures that start real servers for the tests, and stop them afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

import pytest

from harness.errors import MissingServerError
from harness.influxdb import InfluxDatabase, InfluxServer, start_influxdb
from harness.mosquitto import MosquittoServer, TlsListener, start_mosquitto
from harness.sql import PostgresServer

_FALSE_WORDS = frozenset({"", "0", "false", "no"})


class MosquittoFactory(Protocol):
    """Starts a broker of the test's own: `mosquitto_factory(users=, acl=, persistence=)`."""

    def __call__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        persistence: bool = False,
        tls: TlsListener | None = None,
        bind_client_ids: bool = False,
    ) -> MosquittoServer: ...


class InfluxFactory(Protocol):
    """Starts a fresh influxd for one test: `influxdb_factory(database=...)`."""

    def __call__(self, *, database: str = "officina") -> InfluxServer: ...


def running_in_ci() -> bool:
    """Whether the CI variable is set, so that a missing service fails instead of skipping."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE_WORDS


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    """A broker shared by the whole session, anonymous, no persistence; do not stop it."""
    try:
        server = start_mosquitto(workdir=tmp_path_factory.mktemp("mosquitto"))
    except MissingServerError as missing:
        pytest.fail(str(missing), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[MosquittoFactory]:
    """Start brokers of the test's own, with users, ACL and persistence as asked."""
    started: list[MosquittoServer] = []

    def start(
        *,
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        persistence: bool = False,
        tls: TlsListener | None = None,
        bind_client_ids: bool = False,
    ) -> MosquittoServer:
        workdir = tmp_path / f"mosquitto-{len(started) + 1}"
        try:
            server = start_mosquitto(
                workdir=workdir,
                users=users,
                acl=acl,
                persistence=persistence,
                tls=tls,
                bind_client_ids=bind_client_ids,
            )
        except MissingServerError as missing:
            pytest.fail(str(missing), pytrace=False)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """An influxd shared by the whole session, with database `officina`; do not stop it."""
    try:
        server = start_influxdb(workdir=tmp_path_factory.mktemp("influxdb"))
    except MissingServerError as missing:
        pytest.fail(str(missing), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def influxdb_factory(tmp_path: Path) -> Iterator[InfluxFactory]:
    """Start influxd instances of the test's own, for restarts and kills."""
    started: list[InfluxServer] = []

    def start(*, database: str = "officina") -> InfluxServer:
        workdir = tmp_path / f"influxdb-{len(started) + 1}"
        try:
            server = start_influxdb(workdir=workdir, database=database)
        except MissingServerError as missing:
            pytest.fail(str(missing), pytrace=False)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def influx_db(influxdb: InfluxServer) -> Iterator[InfluxDatabase]:
    """A fresh, empty database on the shared influxd, dropped after the test."""
    name = f"test_{secrets.token_hex(6)}"
    influxdb.create_database(name)
    try:
        yield InfluxDatabase(server=influxdb, database=name)
    finally:
        influxdb.drop_database(name)


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The local PostgreSQL; skips the test when absent, or fails it when CI is set."""
    server = PostgresServer()
    reason = server.unavailable_reason()
    if reason is not None:
        if running_in_ci():
            pytest.fail(f"{reason} (CI is set: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(reason)
    return server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh PostgreSQL database, dropped after the test."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The SQLAlchemy URL of a fresh SQLite file in the test's temp dir."""
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest) -> str:
    """A fresh ledger database URL, once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that collected no test is a failure: it proves nothing."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "ERROR: no tests were collected; a run that tests nothing is a failure", red=True
            )
