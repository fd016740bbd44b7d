"""Errors billing raises; database, PDF and SMTP errors are translated into these."""

from __future__ import annotations


class BillingError(Exception):
    """Billing could not do what was asked."""


class BillingInputError(BillingError, ValueError):
    """Input that cannot be billed (a tariff, a pool, a CSV row); names the field that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class UnallocatablePoolError(BillingError):
    """A cost pool whose key has nothing to split by (no usage, no members) and no second key."""

    def __init__(self, pool: str, key: str) -> None:
        super().__init__(
            f"cost pool {pool!r}: nobody has any {key} this month; give it a remainder key"
        )
        self.pool = pool
        self.key = key


class StatementStateError(BillingError):
    """A statement asked to do what its state forbids (change an issued one, credit a draft)."""


class MonthClosedError(StatementStateError):
    """Something dated into a month that has issued statements, which no longer change."""


class MonthNotOverError(StatementStateError):
    """A month asked to be issued before it has ended: sessions may still come."""


class SettingsError(BillingError):
    """Billing's settings are wrong; lists every problem found at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


class DeliveryError(BillingError):
    """A statement could not be handed to the mail server; it will be tried again."""


class RenderError(BillingError):
    """A statement could not be rendered (PDF, CSV or JSON)."""
