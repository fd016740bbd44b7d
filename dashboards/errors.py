"""What can go wrong building, expanding, checking and pushing dashboards."""

from __future__ import annotations


class DashboardError(Exception):
    """A dashboard could not be built, checked or delivered."""


class TemplateError(DashboardError):
    """A panel query names a template variable that has no value."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class StaleJsonError(DashboardError):
    """The dashboard JSON on disk is not what the code builds."""


class PushError(DashboardError):
    """Grafana refused or could not be reached while pushing."""
