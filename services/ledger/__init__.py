"""The SQL ledger: what ingest books (sessions, badges, machine states, dead letters)."""

from services.ledger.db import open_ledger
from services.ledger.errors import LedgerError, MigrationError
from services.ledger.models import (
    BadgeEventRow,
    Base,
    DeadLetterRow,
    MachineStateRow,
    SessionRow,
)
from services.ledger.repository import Ledger

__all__ = [
    "BadgeEventRow",
    "Base",
    "DeadLetterRow",
    "Ledger",
    "LedgerError",
    "MachineStateRow",
    "MigrationError",
    "SessionRow",
    "open_ledger",
]
