"""The api's options, validated once at start-up; default or empty secrets are refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contract import ID_PATTERN, is_id
from contract.mqtt import BrokerOptions
from contract.secrets import (
    DEMO_API_SECRET,
    DEMO_PSEUDONYM_KEY,
    DEMO_SITE_KEY,
    password_problem,
    secret_problem,
)
from services.api.errors import SettingsError
from services.api.security import PasswordCost
from services.billing.months import DEFAULT_TIMEZONE
from services.billing.settings import BillingSettings
from services.ledger.db import DEFAULT_LEDGER_URL
from services.ledger.pseudonyms import pseudonym_key_problems

DEFAULT_CLIENT_ID = "officina-api"


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginLimits:
    """How many failed logins a user name, or a client address, may make in a window."""

    failures: int = 5
    client_failures: int = 30
    window_s: float = 300.0

    def __post_init__(self) -> None:
        if min(self.failures, self.client_failures) < 1 or self.window_s <= 0:
            raise SettingsError("login limits: need failures >= 1 and window_s > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSettings:
    """Where the api reads (ledger, broker), which site it serves, and its secrets."""

    site: str
    ledger_url: str = DEFAULT_LEDGER_URL
    broker: BrokerOptions = field(default_factory=BrokerOptions)
    # Keys the stored hashes of api tokens: a copied database yields no usable token.
    secret: str = ""
    # The site's card key: the api hashes a typed card UID exactly as the gateways do.
    site_key: str = ""
    demo: bool = False
    token_ttl_s: int = 12 * 3600
    login: LoginLimits = LoginLimits()
    password_cost: PasswordCost = field(default_factory=PasswordCost)
    # How long an enrolment waits for the card to be badged at the chosen machine.
    enrol_timeout_s: float = 60.0
    # Telemetry points kept per machine for the floor's amps sparkline.
    sparkline_points: int = 60
    # SSE clients get the machines' amps at most this often (state changes go out at once).
    amps_every_s: float = 2.0
    # Times on the pages are shown in the workshop's zone.
    timezone: str = DEFAULT_TIMEZONE
    # Statements: the workshop printed on them, their currency and default language.
    billing: BillingSettings = field(default_factory=BillingSettings)
    # A cookie marked Secure is sent only over https: off for a plain-http workshop LAN.
    secure_cookies: bool = False
    # Keys the members' pseudonyms on the dashboards: staff resolve one to its member here.
    pseudonym_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problems = [*self._secret_problems()]
        problems += pseudonym_key_problems(self.pseudonym_key, demo=self.demo)
        if not is_id(self.site):
            problems.append(f"site: {self.site!r} must match {ID_PATTERN}")
        if self.token_ttl_s < 60:
            problems.append("token_ttl_s: must be at least 60")
        if not 0 < self.enrol_timeout_s <= 600:
            problems.append("enrol_timeout_s: must be in (0, 600]")
        if not 2 <= self.sparkline_points <= 3600:
            problems.append("sparkline_points: must be between 2 and 3600")
        if not self.amps_every_s > 0:
            problems.append("amps_every_s: must be positive")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone: {self.timezone!r} is not a known time zone")
        if problems:
            raise SettingsError("invalid api settings: " + "; ".join(problems))

    @property
    def client_id(self) -> str:
        """The client id the api connects with: its broker login's name, else officina-api."""
        return self.broker.identity(DEFAULT_CLIENT_ID)

    def _secret_problems(self) -> list[str]:
        found = (
            secret_problem("secret", self.secret, demo=self.demo),
            secret_problem("site_key", self.site_key, demo=self.demo),
            password_problem("broker_password", self.broker.password),
        )
        return [problem for problem in found if problem is not None]

    @classmethod
    def for_demo(cls, *, site: str, ledger_url: str, broker: BrokerOptions) -> ApiSettings:
        """Settings for the embedded demo: its well-known secrets are allowed only here."""
        return cls(
            site=site,
            ledger_url=ledger_url,
            broker=broker,
            secret=DEMO_API_SECRET,
            site_key=DEMO_SITE_KEY,
            pseudonym_key=DEMO_PSEUDONYM_KEY,
            demo=True,
        )
