"""docker-compose.yml and the files it mounts: parsed and checked against each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
import yaml  # type: ignore[import-untyped]
from typer.core import TyperGroup

from contract.mqtt import BrokerOptions
from dashboards.catalogue import DASHBOARDS
from officina.cli import app as officina_app
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.ops.errors import InitError
from services.ops.init import SETTINGS, generate_env, read_env, write_env

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, dict[str, object]] = COMPOSE["services"]
ONE_SHOT = {"broker-files"}
# What a service may read but a deployment need not set: a billing file, TLS files (inside
# compose the services reach Mosquitto on its private network), a plain-http LAN, the TLS proxy
# in front of the api.
OPTIONAL_VARIABLES = {
    "OFFICINA_BILLING_CONFIG",
    "OFFICINA_BROKER_CA",
    "OFFICINA_BROKER_CERT",
    "OFFICINA_BROKER_KEY",
    "OFFICINA_COOKIE_SECURE",
    "OFFICINA_GATEWAY_BROKER_URL",
    "OFFICINA_PAGES_AS_OF",
    "OFFICINA_TRUSTED_PROXIES",
    "OFFICINA_WEBHOOKS_ALLOW_LOOPBACK",
    "OFFICINA_WEBHOOKS_ALLOW_LINK_LOCAL",
}


def test_the_server_runs_every_part() -> None:
    assert set(SERVICES) == {
        "postgres", "mosquitto", "influxdb", "grafana", "ingest", "api", "statements",
        "broker-files", "webhooks",
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned_to_a_version(name: str) -> None:
    image = str(SERVICES[name]["image"])
    repository, _, tag = image.rpartition(":")
    assert repository and tag != "latest" and re.match(r"\d+\.\d+", tag), image


@pytest.mark.parametrize("name", sorted(set(SERVICES) - ONE_SHOT))
def test_every_long_running_service_has_a_healthcheck_and_restarts(name: str) -> None:
    service = SERVICES[name]
    health = service["healthcheck"]
    assert isinstance(health, dict) and health["test"], name
    assert service["restart"] == "unless-stopped"


def test_every_piece_of_state_is_a_named_volume() -> None:
    mounts = {
        name: [str(v) for v in service.get("volumes", [])]  # type: ignore[attr-defined]
        for name, service in SERVICES.items()
    }
    state = {
        "postgres": "/var/lib/postgresql/data",
        "mosquitto": "/mosquitto/data",
        "influxdb": "/var/lib/influxdb2",
        "grafana": "/var/lib/grafana",
    }
    for name, path in state.items():
        (mount,) = [m for m in mounts[name] if m.split(":")[1] == path]
        assert mount.split(":")[0] in COMPOSE["volumes"], mount


def test_mosquitto_reads_the_files_broker_acl_writes_and_persists() -> None:
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    assert "persistence true" in conf
    assert "allow_anonymous false" in conf
    assert "password_file /mosquitto/config/generated/passwords" in conf
    assert "acl_file /mosquitto/config/generated/acl" in conf
    command = [str(part) for part in SERVICES["broker-files"]["command"]]  # type: ignore[attr-defined]
    assert command[:2] == ["officina", "broker-acl"]
    assert "/generated/passwords" in command and "/generated/acl" in command
    assert "mosquitto-generated:/mosquitto/config/generated:ro" in SERVICES["mosquitto"]["volumes"]  # type: ignore[operator]
    tls = (DEPLOY / "mosquitto" / "conf.d" / "tls.conf.example").read_text()
    assert "listener 8883" in tls


def test_grafana_is_provisioned_with_the_built_dashboards() -> None:
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "officina.yaml").read_text()
    )
    path = provider["providers"][0]["options"]["path"]
    assert f"./dashboards/json:{path}:ro" in SERVICES["grafana"]["volumes"]  # type: ignore[operator]
    source = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "officina.yaml").read_text()
    )
    assert source["datasources"][0]["uid"] == "officina-influxdb"
    built = {p.name for p in (ROOT / "dashboards" / "json").glob("*.json")}
    assert built == {d.file_name for d in DASHBOARDS}


def test_every_variable_compose_reads_is_one_init_writes() -> None:
    text = COMPOSE_FILE.read_text()
    used = set(re.findall(r"(?<!\$)\$\{(\w+)\}", text))
    written = {s.name for s in SETTINGS}
    assert used <= written, used - written
    assert set(read_env(DEPLOY / ".env.example")) == written


def test_init_writes_fresh_secrets_and_never_replaces_them(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    write_env(env, site="officina-nord")
    values = read_env(env)
    assert values["OFFICINA_SITE"] == "officina-nord"
    assert all(values[s.name] and len(values[s.name]) >= 24 for s in SETTINGS if s.secret_bytes)
    assert env.stat().st_mode & 0o077 == 0
    assert read_env(env)["INFLUX_TOKEN"] != read_env(_again(tmp_path))["INFLUX_TOKEN"]
    with pytest.raises(InitError, match="exists: its secrets are in use"):
        write_env(env)


def _again(tmp_path: Path) -> Path:
    other = tmp_path / "other.env"
    other.write_text(generate_env())
    return other


def test_init_refuses_a_site_that_is_not_an_id() -> None:
    with pytest.raises(InitError, match="site 'Officina Nord'"):
        generate_env(site="Officina Nord")


def test_a_malformed_env_line_is_named(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("TZ=Europe/Rome\nthis is not a setting\n")
    with pytest.raises(InitError, match=r"\.env:2: expected NAME=value"):
        read_env(env)


def _commands() -> dict[str, list[str]]:
    return {
        name: [str(part) for part in service["command"]]  # type: ignore[attr-defined]
        for name, service in SERVICES.items()
        if name not in {"postgres", "mosquitto", "influxdb", "grafana"}
    }


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_officina_command_parses_with_what_compose_and_init_provide(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line as the container runs it, parsed (not run) by the real CLI."""
    env = {s.name: "x" * 40 for s in SETTINGS}
    environment: dict[str, object] = SERVICES[name].get("environment", {})  # type: ignore[assignment]
    env |= {key: str(value) for key, value in environment.items()}
    argv = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], p) for p in _commands()[name]]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert argv.pop(0) == "officina"
    command = typer.main.get_command(officina_app)
    with typer.Context(command) as context:
        while isinstance(command, TyperGroup):
            found = command.get_command(context, argv.pop(0))
            assert found is not None, f"{name}: no such command in {_commands()[name]}"
            command = found
        # Unknown options and required options missing (with the variables set) raise here.
        command.make_context(command.name, argv)
    read = {
        variable
        for param in command.params
        for variable in ([param.envvar] if isinstance(param.envvar, str) else param.envvar or [])
    }
    unset = {v for v in read if v.startswith("OFFICINA_")} - OPTIONAL_VARIABLES - set(env)
    assert not unset, f"{name} reads {sorted(unset)}, which neither compose nor init sets"


def test_the_api_healthcheck_asks_a_route_the_api_serves() -> None:
    test = " ".join(str(part) for part in SERVICES["api"]["healthcheck"]["test"])  # type: ignore[index]
    assert "http://127.0.0.1:8000/healthz" in test
    app = create_app(
        ApiSettings.for_demo(site="officina", ledger_url="sqlite://", broker=BrokerOptions(port=1))
    )
    assert "/healthz" in {getattr(route, "path", None) for route in app.routes}


def test_the_compose_file_mounts_and_builds_what_the_repository_holds() -> None:
    officina = SERVICES["api"]
    build = officina["build"]
    assert isinstance(build, dict)
    assert (ROOT / str(build["context"]) / str(build["dockerfile"])).is_file()
    assert officina["env_file"] == ".env"
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):  # type: ignore[attr-defined]
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not there"


def test_the_image_leaves_out_environments_secrets_and_caches() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".env", "*.env", "deploy/.env", ".git", "**/__pycache__"} <= ignored
    assert {".env", "deploy/.env"} <= set((ROOT / ".gitignore").read_text().split())


def test_influxdb_runs_with_the_small_server_memory_settings() -> None:
    env_files = SERVICES["influxdb"]["env_file"]
    assert isinstance(env_files, list)
    settings: dict[str, str] = {}
    for env_file in env_files:
        for line in (ROOT / env_file).read_text().splitlines():
            if line and not line.startswith("#"):
                key, sep, value = line.partition("=")
                assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{env_file}: {line!r}"
                settings[key] = value
    assert settings["INFLUXD_STORAGE_CACHE_SNAPSHOT_WRITE_COLD_DURATION"] == "10s"
    assert int(settings["INFLUXD_STORAGE_CACHE_SNAPSHOT_MEMORY_SIZE"]) <= 1 << 20
