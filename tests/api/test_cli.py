"""`officina api …`: refuses default secrets before serving; makes the first logins."""

from __future__ import annotations

import base64

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from contract.secrets import DEMO_API_SECRET
from services.api.cli import app
from services.api.gateways import credentials
from services.api.security import mosquitto_hash
from services.ledger import Registry, open_ledger

runner = CliRunner()


def test_run_refuses_to_start_without_secrets() -> None:
    result = runner.invoke(app, ["run", "--site", "officina-1"], env={})
    assert result.exit_code == 2
    assert "secret: must be set" in result.output


def test_run_refuses_the_demo_secret_outside_the_demo() -> None:
    env = {
        "OFFICINA_API_SECRET": DEMO_API_SECRET,
        "OFFICINA_SITE_KEY": "a-real-site-key-of-this-workshop-0123",
    }
    result = runner.invoke(app, ["run", "--site", "officina-1"], env=env)
    assert result.exit_code == 2
    assert "well-known value is refused" in result.output


def test_add_user_makes_a_member_login_for_a_registered_member(sqlite_url: str) -> None:
    engine = open_ledger(sqlite_url)
    Registry(engine).add_member(member_id="giulia", name="Giulia")
    engine.dispose()
    args = ["add-user", "--username", "giulia", "--role", "member", "--member", "giulia"]
    env = {"OFFICINA_LEDGER": sqlite_url, "OFFICINA_NEW_PASSWORD": "a long password 1"}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "login 'giulia' (member) created" in result.output
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 2 and "is taken" in again.output


def test_add_user_refuses_a_short_password(sqlite_url: str) -> None:
    env = {"OFFICINA_LEDGER": sqlite_url, "OFFICINA_NEW_PASSWORD": "short"}
    result = runner.invoke(app, ["add-user", "--username", "root", "--role", "admin"], env=env)
    assert result.exit_code == 2 and "password" in result.output


def test_gateway_credentials_prints_the_login_the_broker_files_and_the_gateway_use(
    sqlite_url: str,
) -> None:
    env = {"OFFICINA_LEDGER": sqlite_url}
    args = ["gateway-credentials", "--site", "officine-zero", "--gateway", "gw-hall-a"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(" = ", 1) for line in result.stdout.splitlines())
    assert lines["username"] == "'gateway-gw-hall-a'"
    password = lines["password"].strip("'")
    engine = open_ledger(sqlite_url)
    try:
        with Session(engine) as db:
            (row,) = credentials(db, "officine-zero")
    finally:
        engine.dispose()
    assert row.mqtt_username == "gateway-gw-hall-a"
    salt = row.mqtt_password_hash.split("$")[3]
    assert mosquitto_hash(password, salt=base64.b64decode(salt)) == row.mqtt_password_hash


def test_gateway_credentials_refuses_a_bad_gateway_id(sqlite_url: str) -> None:
    args = ["gateway-credentials", "--site", "officine-zero", "--gateway", "Hall A"]
    result = runner.invoke(app, args, env={"OFFICINA_LEDGER": sqlite_url})
    assert result.exit_code == 2 and "--gateway" in result.output
