"""The api's own ledger tables: its users, their tokens, gateway credentials, acl versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.ledger.models import ID_LEN, NAME_LEN, Base
from services.ledger.types import UtcDateTime

DIGEST_LEN = 64
PASSWORD_HASH_LEN = 255
ROLE_LEN = 16


class ApiUserRow(Base):
    """Someone who logs in to the api: a person with a role, or a gateway."""

    __tablename__ = "api_users"
    __table_args__ = (Index("ix_api_users_member", "member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    password_hash: Mapped[str] = mapped_column(String(PASSWORD_HASH_LEN))
    role: Mapped[str] = mapped_column(String(ROLE_LEN))
    # A member's login reaches that member's data only; a gateway's login, its machines only.
    member: Mapped[str | None] = mapped_column(String(ID_LEN))
    gateway: Mapped[str | None] = mapped_column(String(ID_LEN))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiTokenRow(Base):
    """A bearer token, stored only as a keyed digest of its text."""

    __tablename__ = "api_tokens"

    digest: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("api_users.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class GatewayCredentialRow(Base):
    """A gateway's broker login, issued once; only its hash stays, in Mosquitto's own format."""

    __tablename__ = "gateway_credentials"

    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    mqtt_username: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    mqtt_password_hash: Mapped[str] = mapped_column(String(PASSWORD_HASH_LEN))
    api_user_id: Mapped[int] = mapped_column(ForeignKey("api_users.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AclVersionRow(Base):
    """The last access-list version published per machine: versions only ever grow."""

    __tablename__ = "acl_versions"

    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    machine: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())


class GatewayConfigVersionRow(Base):
    """The last config version published per gateway: versions only ever grow."""

    __tablename__ = "gateway_config_versions"

    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    machines: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
