"""Gateway credentials: issue them once, and write the broker's password and ACL files from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from contract import GatewayTopic, MachineTopic, TopicKind
from services.api.models import ApiTokenRow, ApiUserRow, GatewayCredentialRow
from services.api.security import Passwords, Role, mosquitto_hash, new_gateway_password

# What a gateway writes for each of its machines, and what it reads.
GATEWAY_WRITES = (TopicKind.TELEMETRY, TopicKind.STATE, TopicKind.SESSIONS, TopicKind.BADGES)
GATEWAY_READS = (TopicKind.ACL, TopicKind.COMMANDS)
# What a gateway writes and reads about itself: its status out, its config (the api's) in.
GATEWAY_OWN_WRITES = (TopicKind.STATUS,)
GATEWAY_OWN_READS = (TopicKind.CONFIG, TopicKind.BOOKINGS)


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    """A gateway's new login: the password exists only in this object."""

    gateway: str
    username: str
    password: str
    issued_at: datetime


def gateway_username(gateway: str) -> str:
    """The broker and api user name of a gateway."""
    return f"gateway-{gateway}"


def issue_credentials(
    db: Session, *, passwords: Passwords, site: str, gateway: str, now: datetime
) -> IssuedCredentials:
    """New credentials for a gateway; any earlier ones stop working."""
    username = gateway_username(gateway)
    password = new_gateway_password()
    user = db.scalar(select(ApiUserRow).where(ApiUserRow.username == username))
    if user is None:
        user = ApiUserRow(
            username=username, role=Role.GATEWAY.value, gateway=gateway, created_at=now
        )
        db.add(user)
    user.password_hash = passwords.hash(password)
    user.disabled_at = None
    db.flush()
    db.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.user_id == user.id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    row = db.get(GatewayCredentialRow, (site, gateway))
    if row is None:
        row = GatewayCredentialRow(site=site, gateway=gateway, mqtt_username=username)
        db.add(row)
    row.mqtt_password_hash = mosquitto_hash(password)
    row.api_user_id = user.id
    row.issued_at = now
    return IssuedCredentials(gateway, username, password, now)


def credentials(db: Session, site: str) -> Sequence[GatewayCredentialRow]:
    """Every gateway of the site that has credentials, by id."""
    query = (
        select(GatewayCredentialRow)
        .where(GatewayCredentialRow.site == site)
        .order_by(GatewayCredentialRow.gateway)
    )
    return db.scalars(query).all()


def password_file(rows: Sequence[GatewayCredentialRow]) -> str:
    """Mosquitto's `password_file`: one `user:$7$…` line per gateway."""
    return "".join(f"{r.mqtt_username}:{r.mqtt_password_hash}\n" for r in rows)


def acl_file(
    site: str, rows: Sequence[GatewayCredentialRow], machines: Mapping[str, Sequence[str]]
) -> str:
    """Mosquitto's `acl_file`: each gateway reaches only its own and its machines' topics."""
    lines: list[str] = []
    for row in rows:
        lines.append(f"user {row.mqtt_username}")
        lines.extend(
            f"topic write {GatewayTopic(site, row.gateway, k)}" for k in GATEWAY_OWN_WRITES
        )
        lines.extend(f"topic read {GatewayTopic(site, row.gateway, k)}" for k in GATEWAY_OWN_READS)
        for machine in machines.get(row.gateway, ()):
            lines.extend(
                f"topic write {MachineTopic(site, machine, kind)}" for kind in GATEWAY_WRITES
            )
            lines.extend(
                f"topic read {MachineTopic(site, machine, kind)}" for kind in GATEWAY_READS
            )
        lines.append("")
    return "\n".join(lines)
