"""Errors the api raises about its own settings and lifecycle."""

from __future__ import annotations


class ApiError(Exception):
    """The api could not do what it was asked."""


class SettingsError(ApiError, ValueError):
    """Settings that cannot work; the message lists every problem found."""


class BrokerError(ApiError):
    """The broker could not be reached, or did not acknowledge in time."""


class EnrolmentTimeoutError(ApiError):
    """No card was badged at the machine while the api waited for one."""
