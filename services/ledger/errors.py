"""Errors the ledger raises; database errors are translated into these."""

from __future__ import annotations


class LedgerError(Exception):
    """The ledger could not read or write."""


class MigrationError(LedgerError):
    """The ledger's schema could not be brought up to date."""
