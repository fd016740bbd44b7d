"""What can go wrong talking to InfluxDB, one exception tree for every writer and reader."""

from __future__ import annotations


class InfluxError(Exception):
    """InfluxDB could not be written or queried."""


class InfluxSettingsError(InfluxError, ValueError):
    """Settings for InfluxDB that cannot work (a bad URL, database name or login)."""


class InfluxUnavailableError(InfluxError):
    """InfluxDB did not take the request now (down, overloaded, auth): try again later."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InfluxRefusedError(InfluxError):
    """InfluxDB refused the lines themselves (malformed, type conflict, too old): do not retry."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status
