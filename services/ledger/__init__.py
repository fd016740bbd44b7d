"""The SQL ledger: the registry (members, cards, machines, qualifications) and what ingest books."""

from services.ledger.bookings import (
    BookingResult,
    Bookings,
    DeadLetter,
    MachineEvent,
    SiteSession,
)
from services.ledger.db import open_ledger
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
from services.ledger.session_book import SessionBook

__all__ = [
    "AccessEntry",
    "BadgeEventRow",
    "Base",
    "BookingResult",
    "Bookings",
    "CardRow",
    "DeadLetter",
    "DeadLetterRow",
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
    "SessionBook",
    "SessionRow",
    "SiteSession",
    "member_pseudonym",
    "members_behind",
    "open_ledger",
]
