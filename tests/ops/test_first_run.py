"""`officina init --admin`, `officina doctor` and `--version`, against real servers."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from harness.influxdb import InfluxDatabase
from harness.mosquitto import MosquittoServer
from harness.plugin import MosquittoFactory
from harness.ports import free_port
from officina.cli import app
from services.influx import InfluxClient, InfluxSettings
from services.influx.setup import apply
from services.ledger import MachineRow
from services.ledger.db import alembic_config, make_engine, migrate
from services.ops.init import read_env
from tests.api.conftest import make_settings, running_api

ADMIN_PASSWORD = "the first admin's long password"
GOOD_SECRET = "Kq3v9XbT2mWz7LpR4nYc8HdF6sJa1GeU"
runner = CliRunner()


def _init(*args: str, password: str = ADMIN_PASSWORD) -> tuple[int, str]:
    done = runner.invoke(app, ["init", *args], input=password + "\n")
    return done.exit_code, done.output


def _doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    base = {"OFFICINA_API_SECRET": GOOD_SECRET}
    done = runner.invoke(app, ["doctor", "--ledger", "sqlite://", *args], env=base | (env or {}))
    return done.exit_code, done.output


def _line(output: str, check: str) -> str:
    lines = [
        line
        for line in output.splitlines()
        if line.startswith(("ok ", "FIX ")) and f" {check}" in line
    ]
    assert lines, output
    return lines[0]


def test_version_is_the_installed_distributions() -> None:
    done = runner.invoke(app, ["--version"])
    assert done.exit_code == 0
    assert done.output.strip() == f"officina {metadata.version('officina')}"


def test_init_makes_the_ledger_and_an_admin_who_logs_in(
    ledger_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    code, output = _init("--admin", "ada", "--ledger", ledger_url, "--env-file", str(env_file))
    assert code == 0, output
    assert "admin 'ada' created" in output
    assert read_env(env_file)["OFFICINA_API_SECRET"]
    for api in running_api(make_settings(ledger_url, mosquitto, site)):
        answer = api.client.post(
            "/api/v1/login", json={"username": "ada", "password": ADMIN_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["role"] == "admin"


def test_a_second_first_admin_is_refused_and_the_env_kept(sqlite_url: str, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    assert _init("--admin", "ada", "--ledger", sqlite_url, "--env-file", str(env_file))[0] == 0
    secrets = env_file.read_text()
    code, output = _init("--admin", "bob", "--ledger", sqlite_url, "--env-file", str(env_file))
    assert code == 1
    assert "has an admin already" in output
    assert "officina api add-user" in output
    assert env_file.read_text() == secrets


def test_init_refuses_a_short_password_naming_it(sqlite_url: str, tmp_path: Path) -> None:
    code, output = _init("--admin", "ada", "--ledger", sqlite_url, "--no-env", password="short")
    assert code == 1
    assert "password: must be" in output


@pytest.fixture
def site() -> str:
    """A site of the test's own."""
    return f"site-{secrets.token_hex(4)}"


@pytest.fixture
def broker_with_login(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    """A broker that lets in only the api's login."""
    return mosquitto_factory(users={"api": "the api's broker password"})


def test_doctor_says_ok_when_the_broker_accepts_the_login(
    broker_with_login: MosquittoServer, sqlite_url: str
) -> None:
    broker = f"mqtt://api:the%20api's%20broker%20password@127.0.0.1:{broker_with_login.port}"
    _, output = _doctor("--broker", broker)
    assert _line(output, "broker").startswith("ok ")
    assert "credentials accepted" in output
    assert "password" not in _line(output, "broker")


def test_doctor_names_a_refused_login_not_authorised(broker_with_login: MosquittoServer) -> None:
    code, output = _doctor("--broker", f"mqtt://api:wrong@127.0.0.1:{broker_with_login.port}")
    assert code == 1
    assert _line(output, "broker").startswith("FIX")
    assert "not authorised" in _line(output, "broker")


def test_doctor_names_a_broker_that_is_down(broker_with_login: MosquittoServer) -> None:
    broker_with_login.stop()
    code, output = _doctor("--broker", f"mqtt://api:any@127.0.0.1:{broker_with_login.port}")
    assert code == 1
    assert "connection refused" in _line(output, "broker")


def test_doctor_says_to_migrate_an_unmigrated_ledger(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine, "0004")
    engine.dispose()
    code, output = _doctor("--ledger", sqlite_url)
    assert code == 1
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    expected = f"at revision 0004, not {head}: run `officina init --migrate`"
    assert expected in _line(output, "ledger")
    assert (
        runner.invoke(app, ["init", "--migrate", "--no-env", "--ledger", sqlite_url]).exit_code == 0
    )
    assert _line(_doctor("--ledger", sqlite_url)[1], "ledger").startswith("ok ")


def test_doctor_names_a_gateway_never_heard_from(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    with Session(engine) as db:
        db.add(
            MachineRow(
                site="nord",
                id="lathe-1",
                name="Lathe",
                gateway="gw-1",
                idle_amps=0.5,
                run_amps=2.0,
                hysteresis_amps=0.1,
                min_dwell_s=2.0,
                added_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
        db.commit()
    engine.dispose()
    code, output = _doctor("--ledger", sqlite_url)
    assert code == 1
    assert "never heard from" in _line(output, "gateway nord/gw-1")


def test_doctor_flags_a_default_secret(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"OFFICINA_SITE_KEY=change-me\nOFFICINA_PSEUDONYM_KEY={GOOD_SECRET}\n")
    code, output = _doctor("--env-file", str(env_file))
    assert code == 1
    assert _line(output, "secret OFFICINA_SITE_KEY").startswith("FIX")
    assert "placeholder" in _line(output, "secret OFFICINA_SITE_KEY")
    assert _line(output, "secret OFFICINA_PSEUDONYM_KEY").startswith("ok ")
    short = _doctor(env={"OFFICINA_API_SECRET": "short"})[1]
    assert "at least 32 characters" in _line(short, "secret OFFICINA_API_SECRET")


def test_doctor_checks_influxdbs_retention_policies(influx_db: InfluxDatabase) -> None:
    where = ["--influx-url", influx_db.url, "--influx-db", influx_db.database]
    code, output = _doctor(*where)
    assert code == 1
    assert "run `officina ingest influx-setup`" in _line(output, "influxdb")
    with InfluxClient(InfluxSettings(url=influx_db.url, database=influx_db.database)) as client:
        apply(client)
    assert _line(_doctor(*where)[1], "influxdb").startswith("ok ")


def test_doctor_names_an_influxdb_that_is_not_there() -> None:
    code, output = _doctor("--influx-url", f"http://127.0.0.1:{free_port()}")
    assert code == 1
    assert _line(output, "influxdb").startswith("FIX")


def test_the_servers_log_at_info_and_other_commands_at_warning() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        runner.invoke(app, ["api", "run", "--help"])
        assert root.level == logging.INFO
        runner.invoke(app, ["broker-acl", "--help"])
        assert root.level == logging.WARNING
        runner.invoke(app, ["--log-level", "debug", "api", "run", "--help"])
        assert root.level == logging.DEBUG
    finally:
        # The command set up logging for the whole process: the other tests get theirs back.
        root.handlers[:] = handlers
        root.setLevel(level)


def test_doctor_names_a_ledger_it_cannot_reach_without_its_password() -> None:
    url = f"postgresql+psycopg://officina:ledger-password@127.0.0.1:{free_port()}/officina"
    code, output = _doctor("--ledger", url)
    assert code == 1
    line = _line(output, "ledger")
    assert "unreachable" in line
    assert "refused" in line.lower()
    assert "ledger-password" not in output
