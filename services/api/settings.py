"""The api's options, validated once at start-up; default or empty secrets are refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contract import ID_PATTERN, is_id
from contract.mqtt import BrokerOptions, MqttOptionsError
from contract.secrets import (
    DEMO_API_SECRET,
    DEMO_PSEUDONYM_KEY,
    DEMO_SITE_KEY,
    password_problem,
    secret_problem,
)
from services.api.clients import proxy_problems
from services.api.errors import SettingsError
from services.api.security import PasswordCost
from services.billing.months import DEFAULT_TIMEZONE
from services.billing.settings import BillingSettings
from services.influx import InfluxSettings
from services.ledger.db import DEFAULT_LEDGER_URL
from services.ledger.pseudonyms import pseudonym_key_problems

DEFAULT_CLIENT_ID = "officina-api"


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginLimits:
    """Failed logins a name may make from one address (then doubling waits), and an address may.

    Each Argon2 check takes 64 MB and a core for a fraction of a second: `concurrent_checks` run
    at once, and a login waits at most `check_wait_s` for one before it is told to come back.
    """

    failures: int = 5
    client_failures: int = 30
    window_s: float = 300.0
    backoff_s: float = 30.0
    max_backoff_s: float = 3600.0
    concurrent_checks: int = 2
    check_wait_s: float = 5.0

    def __post_init__(self) -> None:
        if min(self.failures, self.client_failures, self.concurrent_checks) < 1:
            raise SettingsError("login limits: failures and concurrent_checks must be >= 1")
        if min(self.window_s, self.backoff_s, self.check_wait_s) <= 0:
            raise SettingsError("login limits: window_s, backoff_s and check_wait_s must be > 0")
        if self.max_backoff_s < self.backoff_s:
            raise SettingsError("login limits: max_backoff_s must be >= backoff_s")


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
    # How often the api looks for maintenance tasks come due (running hours, calendar days).
    maintenance_every_s: float = 60.0
    # Times on the pages are shown in the workshop's zone.
    timezone: str = DEFAULT_TIMEZONE
    # Statements: the workshop printed on them, their currency and default language.
    billing: BillingSettings = field(default_factory=BillingSettings)
    # A cookie marked Secure is sent only over https: off only for the demo on plain-http loopback.
    cookie_secure: bool = True
    # Proxies whose X-Forwarded-For names the client (addresses or networks); none by default,
    # so a client cannot pick the address its failed logins are counted against.
    trusted_proxies: tuple[str, ...] = ()
    # Larger request bodies are refused (413) before they are read.
    max_body_bytes: int = 1024 * 1024
    # Keys the members' pseudonyms on the dashboards: staff resolve one to its member here.
    pseudonym_key: str | None = field(default=None, repr=False)
    # The day the pages open on instead of today: the demo's pages open on its simulated month.
    pages_as_of: date | None = None
    # The broker URL written into a gateway's generated gateway.toml; None: the api's own broker.
    gateway_broker_url: str | None = None
    # Webhook targets on loopback (a receiver on this box) or link-local addresses (where cloud
    # metadata answers) are refused unless allowed here.
    webhooks_allow_loopback: bool = False
    webhooks_allow_link_local: bool = False
    # Where each machine's service state is written for the dashboards; None: nowhere.
    influx: InfluxSettings | None = None

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
        if not 0 < self.maintenance_every_s <= 3600:
            problems.append("maintenance_every_s: must be in (0, 3600]")
        problems += proxy_problems(self.trusted_proxies)
        if not 1024 <= self.max_body_bytes <= 64 * 1024 * 1024:
            problems.append("max_body_bytes: must be between 1 KiB and 64 MiB")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone: {self.timezone!r} is not a known time zone")
        if self.gateway_broker_url is not None:
            try:
                if BrokerOptions.from_url(self.gateway_broker_url).username is not None:
                    problems.append(
                        "gateway_broker_url: each gateway has its own login, not one here"
                    )
            except MqttOptionsError as err:
                problems.append(f"gateway_broker_url: {err}")
        if problems:
            raise SettingsError("invalid api settings: " + "; ".join(problems))

    @property
    def client_id(self) -> str:
        """The client id the api connects with: its broker login's name, else officina-api."""
        return self.broker.identity(DEFAULT_CLIENT_ID)

    @property
    def gateway_broker(self) -> str:
        """The broker URL gateways are told to use: the setting, else the api's own (no login)."""
        if self.gateway_broker_url is not None:
            return self.gateway_broker_url
        return f"{'mqtts' if self.broker.tls else 'mqtt'}://{self.broker.address}"

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
            cookie_secure=False,
        )
