"""Mosquitto's password and ACL files, made from the machine registry and the issued logins.

Each gateway may write only its own machines' topics and its status, and read only their access
lists and commands and its own config; ingest reads everything under `officina/v1/`; the api
publishes access lists, commands and gateway configs (and, for an erasure, machine states) and
reads what the live board shows, and the configs already retained (to top their versions). Gateway
passwords are issued by the api (only their hashes are kept); the service passwords come from
the server's `.env`.

Mosquitto runs with `use_username_as_clientid true` (deploy/mosquitto/mosquitto.conf): each
login listed here is also its client's id, so no login can connect as another client and take
over its session.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from contract import ROOT, GatewayTopic, MachineTopic, TopicKind
from contract.errors import ContractError
from services.api.gateways import (
    GATEWAY_OWN_READS,
    GATEWAY_OWN_WRITES,
    GATEWAY_READS,
    GATEWAY_WRITES,
)
from services.api.models import GatewayCredentialRow
from services.api.security import mosquitto_hash
from services.ledger import MachineRow
from services.ops.errors import BrokerAclError

log = logging.getLogger(__name__)

# Sessions too: a credit-required member's session changes what her access lists carry.
API_READS = (
    TopicKind.STATE,
    TopicKind.TELEMETRY,
    TopicKind.BADGES,
    TopicKind.SESSIONS,
    TopicKind.ACL,
)
# The api republishes a retained state only to take an erased member's id out of it.
API_WRITES = (TopicKind.ACL, TopicKind.COMMANDS, TopicKind.STATE)
# Each gateway's retained config and bookings: the api alone writes them, and reads them back
# to top their versions.
API_GATEWAY_READS = (TopicKind.STATUS, TopicKind.CONFIG, TopicKind.BOOKINGS)
API_GATEWAY_WRITES = (TopicKind.CONFIG, TopicKind.BOOKINGS)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceLogin:
    """A service's broker login (ingest, api), from the `.env`."""

    username: str
    password: str

    def __post_init__(self) -> None:
        if not self.username or any(c in self.username for c in ": \n"):
            raise BrokerAclError(f"username {self.username!r}: no colons, spaces or line breaks")
        if len(self.password) < 12:
            raise BrokerAclError(f"password of {self.username}: at least 12 characters")


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """The two files' text, and the gateways left out (machines but no issued login)."""

    passwords: str
    acl: str
    gateways: tuple[str, ...]
    without_login: tuple[str, ...]


def _service_acl(ingest: ServiceLogin, api: ServiceLogin) -> list[str]:
    lines = [f"user {ingest.username}", f"topic read {ROOT}/#", "", f"user {api.username}"]
    lines += [f"topic read {MachineTopic.filter(kind=kind)}" for kind in API_READS]
    lines += [f"topic read {GatewayTopic.filter(kind=kind)}" for kind in API_GATEWAY_READS]
    lines += [f"topic write {MachineTopic.filter(kind=kind)}" for kind in API_WRITES]
    lines += [f"topic write {GatewayTopic.filter(kind=kind)}" for kind in API_GATEWAY_WRITES]
    return [*lines, ""]


def _gateway_acl(credential: GatewayCredentialRow, machines: Sequence[str]) -> list[str]:
    site, gateway = credential.site, credential.gateway
    lines = [f"user {credential.mqtt_username}"]
    lines += [f"topic write {GatewayTopic(site, gateway, k)}" for k in GATEWAY_OWN_WRITES]
    lines += [f"topic read {GatewayTopic(site, gateway, k)}" for k in GATEWAY_OWN_READS]
    for machine in machines:
        lines += [f"topic write {MachineTopic(site, machine, k)}" for k in GATEWAY_WRITES]
        lines += [f"topic read {MachineTopic(site, machine, k)}" for k in GATEWAY_READS]
    return [*lines, ""]


def broker_files(engine: Engine, *, ingest: ServiceLogin, api: ServiceLogin) -> BrokerFiles:
    """Both files for every registered, not retired machine whose gateway has a login."""
    try:
        with Session(engine) as db:
            machines = db.scalars(
                select(MachineRow)
                .where(MachineRow.retired_at.is_(None))
                .order_by(MachineRow.site, MachineRow.gateway, MachineRow.id)
            ).all()
            logins = {
                (row.site, row.gateway): row
                for row in db.scalars(select(GatewayCredentialRow)).all()
            }
    except SQLAlchemyError as err:
        raise BrokerAclError(f"cannot read the machine registry: {err}") from err
    by_gateway: dict[tuple[str, str], list[str]] = defaultdict(list)
    for machine in machines:
        by_gateway[(machine.site, machine.gateway)].append(machine.id)
    passwords = [f"{login.username}:{mosquitto_hash(login.password)}\n" for login in (ingest, api)]
    acl = ["# Made by `officina broker-acl`: edits are lost at the next run.", ""]
    acl += _service_acl(ingest, api)
    written, missing = [], []
    for (site, gateway), names in sorted(by_gateway.items()):
        credential = logins.get((site, gateway))
        if credential is None:
            missing.append(f"{site}/{gateway}")
            log.warning("gateway %s/%s has machines but no broker login yet", site, gateway)
            continue
        try:
            acl += _gateway_acl(credential, names)
        except ContractError as err:
            raise BrokerAclError(f"gateway {site}/{gateway}: field {err.field}: {err}") from err
        passwords.append(f"{credential.mqtt_username}:{credential.mqtt_password_hash}\n")
        written.append(f"{site}/{gateway}")
    return BrokerFiles("".join(passwords), "\n".join(acl), tuple(written), tuple(missing))


def write_broker_files(files: BrokerFiles, *, password_file: Path, acl_file: Path) -> None:
    """Write both files, readable by their owner only, each replaced in one step."""
    for path, text in ((password_file, files.passwords), (acl_file, files.acl)):
        temporary = path.with_name(f".{path.name}.new")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            temporary.replace(path)
        except OSError as err:
            raise BrokerAclError(f"cannot write {path}: {err}") from err
        log.info("wrote %s", path)
