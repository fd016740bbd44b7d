"""The README's server section works as written: its commands run, its files exist."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from contract.mqtt import BrokerOptions, make_client
from harness.mosquitto import MosquittoServer
from harness.plugin import MosquittoFactory
from harness.ports import LOOPBACK, free_port
from officina.cli import app
from services.billing.fiscal_profile import fiscal_readiness
from services.billing.settings import (
    BillingSettings,
    ScheduleSettings,
    SmtpSettings,
    Workshop,
    load_settings,
)
from services.ingest import Ingest
from services.ops.init import read_env
from tests.ingest.running import ingest_settings
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ADMIN_PASSWORD = "ada's long first password"
START_TIMEOUT_S = 30.0


def server_section() -> str:
    """The README's section on running a workshop's server."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## Running a workshop's server")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def officina_commands(section: str) -> list[list[str]]:
    """Every `officina …` command of the section's shell blocks, in order, comments dropped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["officina"]:
                commands.append(words)
    return commands


def _officina(words: list[str]) -> list[str]:
    return [sys.executable, "-m", "officina", *words[1:]]


def _environment(workdir: Path, broker: str) -> dict[str, str]:
    """This machine's environment without officina's settings, plus the test's broker."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OFFICINA_")}
    env["OFFICINA_BROKER"] = broker
    dotenv = workdir / ".env"
    # What `set -a && . ./.env && set +a` does for the commands after it.
    return env | (read_env(dotenv) if dotenv.exists() else {})


@contextmanager
def running(command: list[str], *, cwd: Path, env: Mapping[str, str]) -> Iterator[Path]:
    """A server command in the background; yields the file its log goes to."""
    log = cwd / f"{command[3]}-{command[4]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=out, stderr=out)
    try:
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def _cli_environment(workdir: Path, broker: str) -> dict[str, str | None]:
    """For a command run in this process: officina's settings only as the README sets them."""
    unset: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("OFFICINA_")
    }
    dotenv = workdir / ".env"
    told = dict(read_env(dotenv)) if dotenv.exists() else {}
    return unset | {"OFFICINA_BROKER": broker} | told


def test_readme_server_commands_run_as_written(
    tmp_path: Path, mosquitto: MosquittoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = f"mqtt://{mosquitto.host}:{mosquitto.port}"
    commands = officina_commands(server_section())
    assert [words[:2] for words in commands] == [
        ["officina", "--version"],
        ["officina", "init"],
        ["officina", "init"],
        ["officina", "doctor"],
        ["officina", "api"],
    ]
    *short, serve = commands
    monkeypatch.chdir(tmp_path)
    for words in short:
        # In this process, to spare a slow start per command; the server runs as its own.
        done = CliRunner().invoke(
            app, words[1:], env=_cli_environment(tmp_path, broker), input=ADMIN_PASSWORD + "\n"
        )
        assert done.exit_code == 0, f"{shlex.join(words)}: {done.output}"
    assert read_env(tmp_path / ".env")["OFFICINA_SITE"] == "officina-nord"
    port = free_port()
    command = _officina([str(port) if word == "8000" else word for word in serve])
    with running(command, cwd=tmp_path, env=_environment(tmp_path, broker)) as log:
        address = f"http://{LOOPBACK}:{port}"
        eventually(lambda: address in log.read_text(), timeout=START_TIMEOUT_S, what="the api")
        told = log.read_text()
        assert f"broker {broker}" in told
        assert "ledger sqlite:///officina.db" in told
        eventually(
            lambda: _answers(f"{address}/healthz"), timeout=START_TIMEOUT_S, what="the api's answer"
        )
        login = httpx.post(
            f"{address}/api/v1/login", json={"username": "ada", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        assert login.json()["role"] == "admin"
        assert 'href="/setup"' not in httpx.get(f"{address}/login").text


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code < 500
    except httpx.TransportError:
        return False


def test_the_api_logs_a_refused_broker_login_in_words(
    tmp_path: Path, mosquitto_factory: MosquittoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = mosquitto_factory(users={"api": "the api's broker password"})
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["init", "--site", "nord"]).exit_code == 0
    env = _environment(tmp_path, f"mqtt://api:not-the-password@{broker.host}:{broker.port}")
    command = _officina(["officina", "api", "run", "--port", str(free_port())])
    with running(command, cwd=tmp_path, env=env) as log:
        eventually(
            lambda: "refused the api: not authorised" in log.read_text(),
            timeout=START_TIMEOUT_S,
            what="the refusal in the api's log",
        )
        assert "not-the-password" not in log.read_text()


def test_files_the_server_section_names_exist() -> None:
    named = re.findall(r"`((?:deploy|gateway|services|docs|contract)/[\w./-]+)`", server_section())
    assert "deploy/billing.example.toml" in named
    assert "gateway/deploy/gateway.example.toml" in named
    missing = [
        path for path in named if path != "deploy/billing.toml" and not (ROOT / path).exists()
    ]
    assert not missing


def test_the_billing_example_loads_and_names_every_setting() -> None:
    example = ROOT / "deploy" / "billing.example.toml"
    settings = load_settings(example)
    assert settings.smtp is not None
    assert settings.workshop.name != Workshop().name
    text = example.read_text(encoding="utf-8")
    for table in (BillingSettings, Workshop, ScheduleSettings, SmtpSettings):
        for setting in dataclasses.fields(table):
            key = rf"^#? ?{setting.name} = |^#? ?\[billing\.(workshop\.)?{setting.name}\]$"
            assert re.search(key, text, flags=re.MULTILINE), setting.name


def test_the_billing_examples_fiscal_profile_loads_complete_for_fattura_once_uncommented(
    tmp_path: Path,
) -> None:
    text = (ROOT / "deploy" / "billing.example.toml").read_text(encoding="utf-8")
    fiscal = text[text.index("# [billing.workshop.fiscal]") :].split("\n\n", 1)[0]
    uncommented = text.replace(fiscal, re.sub(r"^# ?", "", fiscal, flags=re.MULTILINE))
    (tmp_path / "billing.toml").write_text(uncommented, encoding="utf-8")
    workshop = load_settings(tmp_path / "billing.toml").workshop
    assert workshop.fiscal is not None and workshop.fiscal.vat_number == "12345670017"
    assert fiscal_readiness(workshop).complete_for_fattura


def test_a_broker_that_is_down_is_logged_as_connection_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every server connects through the one MQTT layer, which logs why an attempt failed.
    options = BrokerOptions.from_url(f"mqtt://api:secret-password@{LOOPBACK}:{free_port()}")
    client = make_client(options, fallback_client_id="readme")
    with caplog.at_level(logging.WARNING, logger="contract.mqtt"):
        client.connect_in_background()
        try:
            eventually(lambda: client.connect_error is not None, what="a failed connect")
        finally:
            client.loop_stop()
    told = " ".join(record.getMessage() for record in caplog.records)
    assert f"broker {options.address}: connection refused" in told
    assert "secret-password" not in told


def test_ingest_logs_a_refused_login_in_words_with_its_broker_and_ledger(
    mosquitto_factory: MosquittoFactory, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    broker = mosquitto_factory(users={"ingest": "ingest's broker password"})
    settings = ingest_settings(broker, sqlite_url)
    wrong = dataclasses.replace(
        settings,
        broker=settings.broker.but(username="ingest", password="not-the-password"),
    )
    with caplog.at_level(logging.INFO, logger="services.ingest"), Ingest(wrong):
        eventually(
            lambda: "refused ingest: not authorised" in caplog.text, what="the refusal logged"
        )
    assert f"ledger {sqlite_url}" in caplog.text
    assert f"connecting to {wrong.broker.url}" in caplog.text
    assert "not-the-password" not in caplog.text
