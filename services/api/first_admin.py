"""The first admin of a fresh site: made once, by `officina init --admin` or the /setup page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.api.accounts import add_user
from services.api.models import ApiUserRow
from services.api.security import Passwords, Role

# Any constant will do: it only has to be the same for everyone making a first admin.
_PG_FIRST_ADMIN_LOCK = 0x0FF1C1B
ADD_USERS_INSTEAD = (
    "add further logins as that admin on the api's pages, or with `officina api add-user`"
)


class FirstAdminExistsError(Exception):
    """The site has an admin (or, for the /setup page, any login): no first admin is made."""


def has_logins(db: Session) -> bool:
    """Whether anyone at all can log in: a fresh site has nobody."""
    return db.scalar(select(ApiUserRow.id).limit(1)) is not None


def has_admin(db: Session) -> bool:
    """Whether an admin login exists, enabled or not."""
    query = select(ApiUserRow.id).where(ApiUserRow.role == Role.ADMIN.value).limit(1)
    return db.scalar(query) is not None


def create_first_admin(
    db: Session,
    *,
    passwords: Passwords,
    username: str,
    password: str,
    now: datetime,
    only_on_empty_site: bool = False,
) -> ApiUserRow:
    """Add the admin login, unless an admin exists (or any login, when `only_on_empty_site`)."""
    if db.get_bind().dialect.name == "postgresql":
        # Two first admins made at once would both see an empty table; this lock orders them.
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_FIRST_ADMIN_LOCK})
    if only_on_empty_site and has_logins(db):
        raise FirstAdminExistsError(f"this site has logins already; {ADD_USERS_INSTEAD}")
    if has_admin(db):
        raise FirstAdminExistsError(f"this site has an admin already; {ADD_USERS_INSTEAD}")
    return add_user(
        db, passwords=passwords, username=username, password=password, role=Role.ADMIN, now=now
    )
