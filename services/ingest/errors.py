"""Errors ingest raises about its own lifecycle."""

from __future__ import annotations


class IngestError(Exception):
    """Ingest could not do what it was asked."""


class NotConnectedError(IngestError):
    """Ingest did not connect and subscribe to the broker in time."""


class SettingsError(IngestError, ValueError):
    """Settings that cannot work; the message lists every problem found."""
