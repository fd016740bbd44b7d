"""The SQL ledger: the registry (members, cards, machines, qualifications) and what ingest books."""

from services.ledger.bookings import (
    BookingResult,
    Bookings,
    DeadLetter,
    MachineEvent,
    SiteSession,
)
from services.ledger.db import DEFAULT_LEDGER_URL, open_ledger
from services.ledger.errors import (
    LedgerError,
    LedgerUnavailableError,
    MigrationError,
    RegistryError,
)
from services.ledger.models import (
    BadgeEventRow,
    Base,
    CardRow,
    DeadLetterRow,
    MachineRow,
    MachineStateRow,
    MemberRow,
    QualificationRow,
    SessionRow,
)
from services.ledger.pseudonyms import member_pseudonym, members_behind
from services.ledger.registry import AccessEntry, MachineSpec, Registry
from services.ledger.repository import Ledger

__all__ = [
    "DEFAULT_LEDGER_URL",
    "AccessEntry",
    "BadgeEventRow",
    "Base",
    "BookingResult",
    "Bookings",
    "CardRow",
    "DeadLetter",
    "DeadLetterRow",
    "Ledger",
    "LedgerError",
    "LedgerUnavailableError",
    "MachineEvent",
    "MachineRow",
    "MachineSpec",
    "MachineStateRow",
    "MemberRow",
    "MigrationError",
    "QualificationRow",
    "Registry",
    "RegistryError",
    "SessionRow",
    "SiteSession",
    "member_pseudonym",
    "members_behind",
    "open_ledger",
]
