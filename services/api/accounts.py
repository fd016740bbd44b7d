"""The api's logins: users with a role, their hashed passwords, and the tokens they are issued."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.api.models import ApiTokenRow, ApiUserRow
from services.api.security import Passwords, Role, new_token, token_digest

MIN_PASSWORD_LEN = 12
MAX_PASSWORD_LEN = 256
_USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,200}$")


class AccountError(ValueError):
    """A login that cannot be stored; names the field that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as handed to its holder: the only time its text exists outside the client."""

    token: str
    expires_at: datetime


def check_new_password(password: str) -> None:
    """Refuse a password too short or too long to be sensible."""
    if not MIN_PASSWORD_LEN <= len(password) <= MAX_PASSWORD_LEN:
        raise AccountError(
            "password", f"must be {MIN_PASSWORD_LEN}-{MAX_PASSWORD_LEN} characters long"
        )


def add_user(
    db: Session,
    *,
    passwords: Passwords,
    username: str,
    password: str,
    role: Role,
    now: datetime,
    member: str | None = None,
    gateway: str | None = None,
) -> ApiUserRow:
    """Create a login; a member login must name its member, a gateway login its gateway."""
    if not _USERNAME.fullmatch(username):
        raise AccountError("username", "1-200 letters, digits or . _ @ + -")
    check_new_password(password)
    if (role is Role.MEMBER) != (member is not None):
        raise AccountError("member", "a member login, and only one, names its member")
    if (role is Role.GATEWAY) != (gateway is not None):
        raise AccountError("gateway", "a gateway login, and only one, names its gateway")
    if db.scalar(select(ApiUserRow.id).where(ApiUserRow.username == username)) is not None:
        raise AccountError("username", f"{username!r} is taken")
    row = ApiUserRow(
        username=username,
        password_hash=passwords.hash(password),
        role=role.value,
        member=member,
        gateway=gateway,
        created_at=now,
    )
    db.add(row)
    db.flush()
    return row


def authenticate(
    db: Session, passwords: Passwords, username: str, password: str
) -> ApiUserRow | None:
    """The enabled user with this name and password, or None (as slowly either way)."""
    row = db.scalar(select(ApiUserRow).where(ApiUserRow.username == username))
    usable = row is not None and row.disabled_at is None
    if not passwords.check(password, row.password_hash if usable and row else None):
        return None
    return row


def issue_token(
    db: Session, user: ApiUserRow, *, secret: str, now: datetime, ttl_s: int
) -> IssuedToken:
    """A new bearer token for user; only its keyed digest is stored."""
    token = new_token()
    expires = now + timedelta(seconds=ttl_s)
    db.add(
        ApiTokenRow(
            digest=token_digest(token, secret), user_id=user.id, issued_at=now, expires_at=expires
        )
    )
    return IssuedToken(token, expires)


def user_for_token(db: Session, token: str, *, secret: str, now: datetime) -> ApiUserRow | None:
    """The enabled user a valid (unexpired, unrevoked) token belongs to."""
    query = (
        select(ApiUserRow)
        .join(ApiTokenRow, ApiTokenRow.user_id == ApiUserRow.id)
        .where(
            ApiTokenRow.digest == token_digest(token, secret),
            ApiTokenRow.revoked_at.is_(None),
            ApiTokenRow.expires_at > now,
            ApiUserRow.disabled_at.is_(None),
        )
    )
    return db.scalar(query)


def revoke_token(db: Session, token: str, *, secret: str, now: datetime) -> None:
    """End a token before it expires (logout)."""
    db.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.digest == token_digest(token, secret))
        .values(revoked_at=now)
    )


def disable_user(db: Session, user: ApiUserRow, *, now: datetime) -> None:
    """Stop a login from working; its tokens die with it."""
    user.disabled_at = now
    db.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.user_id == user.id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
