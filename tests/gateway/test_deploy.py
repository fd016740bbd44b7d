"""The files a workshop installs with the gateway: they parse and they agree with the code."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

import gateway
from gateway.cli import app
from gateway.config import parse_config
from gateway.errors import ConfigError

DEPLOY = Path(gateway.__file__).parent / "deploy"


def test_the_example_configuration_is_valid_once_filled_in_and_uses_tls() -> None:
    text = (DEPLOY / "gateway.example.toml").read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="site_key: a placeholder"):
        parse_config(text)
    filled = text.replace(
        "REPLACE-with-the-site-key-from-officina-init", "Zr4kT9mWq2-a-long-random-site-key-0123"
    ).replace("REPLACE-with-this-gateway-broker-password", "the-issued-password")
    config = parse_config(filled)
    assert config.broker.username == "gateway-gw-hall-a"
    assert config.broker.tls is not None
    assert config.broker.port == 8883
    assert config.spool.path == Path("/var/lib/officina/gateway.db")


def test_the_systemd_unit_runs_the_gateway_command_with_its_config() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "officina-gateway.service")
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[0].endswith("/officina")
    assert argv[argv.index("gateway") : argv.index("gateway") + 2] == ["gateway", "run"]
    assert {c.callback.__name__ for c in app.registered_commands if c.callback} >= {"run", "check"}
    assert argv[argv.index("--config") + 1] == "/etc/officina/gateway.toml"
    assert unit["Service"]["KillSignal"] == "SIGTERM"
    assert "/var/lib/officina" in unit["Service"]["ReadWritePaths"]
