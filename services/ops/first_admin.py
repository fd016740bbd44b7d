"""`officina init --admin`: the ledger made or migrated, and its first admin login."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.api.accounts import AccountError
from services.api.first_admin import FirstAdminExistsError, create_first_admin
from services.api.security import PasswordCost, Passwords
from services.api.state import utc_now
from services.ledger import LedgerError, open_ledger
from services.ledger.db import schema_revisions, shown_url
from services.ops.errors import FirstAdminError


@dataclass(frozen=True, slots=True)
class LedgerReady:
    """The ledger (without its password) and the schema revision it is now at."""

    ledger: str
    revision: str


def make_first_admin(ledger_url: str, *, username: str, password: str) -> LedgerReady:
    """Make (or migrate) the ledger and add its first admin; refused if it has an admin."""
    try:
        engine = open_ledger(ledger_url)
    except LedgerError as err:
        raise FirstAdminError(str(err)) from err
    try:
        with Session(engine) as db:
            create_first_admin(
                db,
                passwords=Passwords(PasswordCost()),
                username=username,
                password=password,
                now=utc_now(),
            )
            db.commit()
        revision, _head = schema_revisions(engine)
    except AccountError as err:
        raise FirstAdminError(str(err)) from err
    except FirstAdminExistsError as err:
        raise FirstAdminError(str(err)) from err
    except (SQLAlchemyError, LedgerError) as err:
        raise FirstAdminError(f"ledger {shown_url(ledger_url)}: {err}") from err
    finally:
        engine.dispose()
    return LedgerReady(ledger=shown_url(ledger_url), revision=revision or "(none)")


def migrate_ledger(ledger_url: str) -> LedgerReady:
    """Make the ledger, or migrate it to head."""
    try:
        engine = open_ledger(ledger_url)
        try:
            revision, _head = schema_revisions(engine)
        finally:
            engine.dispose()
    except LedgerError as err:
        raise FirstAdminError(str(err)) from err
    return LedgerReady(ledger=shown_url(ledger_url), revision=revision or "(none)")
