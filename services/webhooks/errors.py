"""The webhooks' errors."""

from __future__ import annotations


class WebhookError(Exception):
    """Something about webhooks went wrong."""


class TargetRefusedError(WebhookError):
    """A target URL that may not be called: names the field and says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
