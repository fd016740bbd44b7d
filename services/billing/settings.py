"""Billing's settings: the workshop on the statements, money and time, schedule, SMTP.

Read once from a TOML file (the `[billing]` table of the officina config, or a file of its own)
and validated at once: every problem is reported together, with the file and the field.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import field
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any

from babel.numbers import get_currency_precision
from pydantic import ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.dataclasses import dataclass

from contract.plain_errors import plain_problems
from services.billing.errors import SettingsError
from services.billing.months import DEFAULT_TIMEZONE, Month, zone
from services.billing.wording import LANGUAGES
from services.fiscal import identifiers
from services.fiscal import profiles as fiscal_profiles

_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class Workshop:
    """Who sends the statements (printed at the top of every PDF), and its fiscal profile.

    `fiscal` is the `[billing.workshop.fiscal]` table, checked by `services.fiscal`: the
    seller of a FatturaPA and the billing mode. Files written before it name the P.IVA once,
    as `vat_number`; the fiscal profile takes it from there when it gives none of its own.
    """

    name: str = "Officina"
    address: tuple[str, ...] = ()
    vat_number: str | None = None
    email: str | None = None
    logo: Path | None = None
    fiscal: fiscal_profiles.Workshop | None = None

    @field_validator("fiscal", mode="before")
    @classmethod
    def _fiscal_vat_number(cls, value: Any, info: ValidationInfo) -> Any:
        vat_number = info.data.get("vat_number")
        if isinstance(value, dict) and "vat_number" not in value and vat_number:
            return {**value, "vat_number": vat_number}
        return value

    @model_validator(mode="after")
    def _one_vat_number(self) -> Workshop:
        if self.fiscal is None or self.vat_number is None or self.fiscal.vat_number is None:
            return self
        try:
            same = identifiers.partita_iva(self.vat_number) == self.fiscal.vat_number
        except ValueError:
            same = False
        if not same:
            raise ValueError("vat_number differs from fiscal.vat_number: give it once")
        return self

    @field_validator("logo")
    @classmethod
    def _logo_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value


class SmtpSecurity(StrEnum):
    """How the connection to the mail server is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class SmtpSettings:
    """The cooperative's mail server; the password comes from an environment variable."""

    host: str
    port: int = 587
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password_env: str = "OFFICINA_SMTP_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
    sender: str
    reply_to: str | None = None
    timeout_s: float = 30.0

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 < value < 65_536:
            raise ValueError(f"{value} is not a TCP port")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    def password(self) -> str | None:
        """The SMTP password from the environment, if a username is set."""
        return os.environ.get(self.password_env) if self.username else None


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class ScheduleSettings:
    """When the month's drafts are made, how long they wait for review, and what is sent."""

    day: int = 1
    at: time = time(6, 0)
    # None: drafts wait for `statements run --issue`; a number: issued that many days later.
    review_days: int | None = None
    first_month: str | None = None
    send: bool = True
    poll_s: float = 900.0
    # Overdue statements' members are e-mailed a reminder at most once in this many days;
    # 0: the scheduler sends none (`statements payments remind` still does).
    remind_every_days: int = 7

    @field_validator("day")
    @classmethod
    def _day(cls, value: int) -> int:
        if not 1 <= value <= 28:
            raise ValueError("must be a day from 1 to 28 (every month has it)")
        return value

    @field_validator("review_days")
    @classmethod
    def _review(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("remind_every_days")
    @classmethod
    def _remind(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be a number of days, or 0 for no reminders")
        return value

    @field_validator("first_month")
    @classmethod
    def _first_month(cls, value: str | None) -> str | None:
        if value is not None:
            Month.parse(value)
        return value


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class BillingSettings:
    """Everything billing is told rather than finds in the ledger."""

    workshop: Workshop = field(default_factory=Workshop)
    timezone: str = DEFAULT_TIMEZONE
    currency: str = "EUR"
    locale: str = "it"
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    smtp: SmtpSettings | None = None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        # Amounts are kept in cents: only currencies with two decimals fit.
        if len(value) != 3 or get_currency_precision(value) != 2:
            raise ValueError(f"{value!r} is not a currency with cents")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"{value!r} is not one of {', '.join(sorted(LANGUAGES))}")
        return value


def settings_from(values: dict[str, Any], *, source: str = "settings") -> BillingSettings:
    """Settings from parsed TOML; every problem in one SettingsError."""
    try:
        return BillingSettings(**values)
    except ValidationError as err:
        problems = [
            f"{source}: {problem}"
            for problem in plain_problems(err, data=values, model=BillingSettings)
        ]
        raise SettingsError(problems) from err
    except TypeError as err:
        raise SettingsError([f"{source}: {err}"]) from err


def load_settings(path: Path | None) -> BillingSettings:
    """Settings from a TOML file (its `[billing]` table if it has one), or the defaults."""
    if path is None:
        return BillingSettings()
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SettingsError([f"{path}: {err}"]) from err
    billing = values.get("billing", values)
    if not isinstance(billing, dict):
        raise SettingsError([f"{path}: billing: must be a table"])
    return settings_from(billing, source=str(path))
