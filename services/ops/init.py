"""`officina init`: the server's `.env`, every secret fresh, never overwriting one that exists."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from contract import ContractError
from contract.topics import check_id
from services.ops.errors import InitError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Setting:
    """One line of the `.env`: a fixed value, or a fresh secret of `secret_bytes`."""

    name: str
    value: str = ""
    secret_bytes: int = 0
    comment: str = ""


# Each service refuses to start with an empty or default secret, so every one is generated.
SETTINGS = (
    Setting("OFFICINA_SITE", "officina", comment="the site id of this server"),
    Setting("TZ", "Europe/Rome"),
    Setting("POSTGRES_USER", "officina"),
    Setting("POSTGRES_DB", "officina"),
    Setting("POSTGRES_PASSWORD", secret_bytes=24),
    Setting("INFLUX_ORG", "officina"),
    Setting("INFLUX_BUCKET", "officina"),
    Setting("INFLUX_ADMIN_USER", "officina"),
    Setting("INFLUX_ADMIN_PASSWORD", secret_bytes=24),
    Setting("INFLUX_TOKEN", secret_bytes=32, comment="the API token ingest and Grafana use"),
    Setting("GRAFANA_ADMIN_USER", "admin"),
    Setting("GRAFANA_ADMIN_PASSWORD", secret_bytes=18),
    Setting("MQTT_INGEST_USER", "ingest"),
    Setting("MQTT_INGEST_PASSWORD", secret_bytes=24),
    Setting("MQTT_API_USER", "api"),
    Setting("MQTT_API_PASSWORD", secret_bytes=24),
    Setting("OFFICINA_SITE_KEY", secret_bytes=32, comment="keys card hashes: never change it"),
    Setting("OFFICINA_API_SECRET", secret_bytes=32, comment="signs api tokens"),
    Setting(
        "OFFICINA_PSEUDONYM_KEY",
        secret_bytes=32,
        comment="keys pseudonyms on the dashboards: a new key makes old ones unresolvable",
    ),
)


def generate_env(*, site: str = "officina") -> str:
    """The text of a fresh `.env`."""
    try:
        check_id(site, "site")
    except ContractError as err:
        raise InitError(f"site {site!r}: {err}") from err
    lines = ["# Made by `officina init`. Keep it secret; back it up with `officina backup`."]
    for setting in SETTINGS:
        value = setting.value
        if setting.name == "OFFICINA_SITE":
            value = site
        if setting.secret_bytes:
            value = secrets.token_urlsafe(setting.secret_bytes)
        if setting.comment:
            lines.append(f"# {setting.comment}")
        lines.append(f"{setting.name}={value}")
    return "\n".join(lines) + "\n"


def write_env(path: Path, *, site: str = "officina", force: bool = False) -> None:
    """Write a fresh `.env` (owner-only); refuse to replace one unless forced."""
    if path.exists() and not force:
        raise InitError(f"{path} exists: its secrets are in use (use --force to replace them)")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(generate_env(site=site))
    except OSError as err:
        raise InitError(f"cannot write {path}: {err}") from err
    log.info("wrote %s", path)


def read_env(path: Path) -> dict[str, str]:
    """The settings of a `.env`; a malformed line is an error naming its number."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InitError(f"cannot read {path}: {err}") from err
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition("=")
        if not sep or not name.strip():
            raise InitError(f"{path}:{number}: expected NAME=value, got {stripped[:40]!r}")
        values[name.strip()] = value.strip()
    return values
