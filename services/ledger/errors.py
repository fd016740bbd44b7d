"""Errors the ledger raises; database errors are translated into these."""

from __future__ import annotations


class LedgerError(Exception):
    """The ledger could not read or write."""


class LedgerUnavailableError(LedgerError):
    """The database could not be reached or was locked: the same write may succeed later."""


class LedgerMissingError(LedgerError):
    """A command that only reads was pointed at a ledger nobody has made yet."""


class MigrationError(LedgerError):
    """The ledger's schema could not be brought up to date."""


class RegistryError(LedgerError, ValueError):
    """A registry entry that cannot be stored; names the field that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
