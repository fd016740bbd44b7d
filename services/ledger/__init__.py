"""The SQL ledger: the registry (members, cards, machines, qualifications) and what ingest books."""

from services.ledger.bookings import (
    DEAD_LETTER_KEEP_BYTES,
    BookingResult,
    Bookings,
    DeadLetter,
    MachineEvent,
    SessionConflict,
    SiteSession,
)
from services.ledger.db import DEFAULT_LEDGER_URL, open_existing, open_ledger
from services.ledger.errors import (
    LedgerError,
    LedgerMissingError,
    LedgerUnavailableError,
    MigrationError,
    RegistryError,
)
from services.ledger.models import (
    BadgeEventRow,
    Base,
    BillingPartyRow,
    CardRow,
    DeadLetterRow,
    FaultRow,
    HeldSessionRow,
    MachinePhotoRow,
    MachineRow,
    MachineStateRow,
    MemberRow,
    QualificationRow,
    SessionConflictRow,
    SessionRow,
    WebhookEventRow,
)
from services.ledger.pseudonyms import member_pseudonym, members_behind
from services.ledger.registry import AccessEntry, MachineSpec, Registry
from services.ledger.review import (
    HeldSessionNotFoundError,
    HoldOutcome,
    ReviewQueue,
    unbilled_session_ids,
)
from services.ledger.session_book import SessionBook

__all__ = [
    "DEAD_LETTER_KEEP_BYTES",
    "DEFAULT_LEDGER_URL",
    "AccessEntry",
    "BadgeEventRow",
    "Base",
    "BillingPartyRow",
    "BookingResult",
    "Bookings",
    "CardRow",
    "DeadLetter",
    "DeadLetterRow",
    "FaultRow",
    "HeldSessionNotFoundError",
    "HeldSessionRow",
    "HoldOutcome",
    "LedgerError",
    "LedgerMissingError",
    "LedgerUnavailableError",
    "MachineEvent",
    "MachinePhotoRow",
    "MachineRow",
    "MachineSpec",
    "MachineStateRow",
    "MemberRow",
    "MigrationError",
    "QualificationRow",
    "Registry",
    "RegistryError",
    "ReviewQueue",
    "SessionBook",
    "SessionConflict",
    "SessionConflictRow",
    "SessionRow",
    "SiteSession",
    "WebhookEventRow",
    "member_pseudonym",
    "members_behind",
    "open_existing",
    "open_ledger",
    "unbilled_session_ids",
]
