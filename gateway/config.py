"""The gateway's configuration file (TOML), validated once at start-up into typed models."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Literal, Self, TypedDict
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from contract import Id, Policy, card_hash
from contract.cards import normalise_uid
from contract.mqtt import BrokerOptions, MqttOptionsError
from contract.plain_errors import PlainProblem, plain_problems
from contract.secrets import weak_password_reason, weak_secret_reason
from gateway.access import AccessList, Grant
from gateway.drivers import CurrentConfig, ReaderConfig, RelayConfig, mcu
from gateway.errors import ConfigError
from gateway.run_detection import RunThresholds
from gateway.session import SessionPolicy
from gateway.spool import FullPolicy

log = logging.getLogger(__name__)

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
# Until the api's config arrives (or when none was ever kept), a machine runs by these.
DEFAULT_POLICY = Policy()
# Keys of a machine section that the api's config topic now carries.
POLICY_KEYS = tuple(Policy.model_fields)
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BrokerConfig(_Strict):
    """Where the gateway's MQTT broker is and who the gateway is to it."""

    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: SecretStr | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    # How often the retained online status (with the spool's backlog) is sent while connected.
    status_interval_s: Annotated[float, Field(ge=1, le=3600, allow_inf_nan=False)] = 60.0
    tls: TlsConfig | None = None

    @field_validator("password")
    @classmethod
    def _password_ok(cls, value: SecretStr | None) -> SecretStr | None:
        reason = weak_password_reason(value.get_secret_value() if value is not None else None)
        if reason is not None:
            raise ValueError(reason)
        return value

    @model_validator(mode="after")
    def _url_ok(self) -> Self:
        parts = urlsplit(self.url)
        if parts.scheme not in {"mqtt", "mqtts", "tcp"} or not parts.hostname:
            raise ValueError("url: expected mqtt://host:port or mqtts://host:port")
        try:
            port = parts.port
        except ValueError:
            port = -1  # urlsplit refuses ports above 65535 and text
        if port is not None and not 0 < port < 65_536:
            raise ValueError("url: the port must be a number from 1 to 65535")
        if self.password is not None and self.username is None:
            raise ValueError("password: given without a username")
        if parts.scheme == "mqtts" and self.tls is None:
            object.__setattr__(self, "tls", TlsConfig())
        return self

    @property
    def host(self) -> str:
        """The broker's host name."""
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """The broker's port (1883, or 8883 with TLS, when not given)."""
        return urlsplit(self.url).port or (8883 if self.tls is not None else 1883)

    def options(self) -> BrokerOptions:
        """The connection's options: TLS when the URL is mqtts:// or a [broker.tls] is given.

        Certificate files are looked at here, on the gateway that uses them, not when the file
        is validated elsewhere; a missing one raises ConfigError naming it.
        """
        tls = self.tls
        try:
            return self._options(tls)
        except MqttOptionsError as err:
            raise ConfigError(f"broker.{err}") from err

    def _options(self, tls: TlsConfig | None) -> BrokerOptions:
        return BrokerOptions(
            host=self.host,
            port=self.port,
            tls=tls is not None,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            ca_file=tls.ca_file if tls else None,
            cert_file=tls.cert_file if tls else None,
            key_file=tls.key_file if tls else None,
            keepalive_s=self.keepalive_s,
        )


class SpoolConfig(_Strict):
    """Where the gateway keeps what the broker has not acknowledged yet, and how much."""

    path: Path = Path("/var/lib/officina/gateway.db")
    max_telemetry: Annotated[int, Field(ge=1)] = 100_000
    full_policy: FullPolicy = FullPolicy.DROP_OLDEST
    journal_interval_s: Positive = 2.0


class TlsConfig(_Strict):
    """TLS to the broker."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _pair(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file, key_file: give both or neither")
        return self


class McuRoles(TypedDict):
    """One MCU board in all three roles, as `MachineConfig(**mcu_roles(port))` takes them."""

    current: mcu.Config
    reader: mcu.Config
    relay: mcu.Config


def mcu_roles(port: str, *, channel: int = 0, relay_channel: int = 0) -> McuRoles:
    """The three roles of an officina MCU board on `port`, for configs built in code."""
    board = mcu.Config(driver="mcu", port=port, channel=channel, relay_channel=relay_channel)
    return McuRoles(current=board, reader=board, relay=board)


class MachineConfig(_Strict):
    """One machine at this gateway: its sensors and wiring, and a fallback policy.

    `current` is required; a machine without `reader` is metered but nobody badges at it (its
    use is unattributed), and one without `relay` has no interlock. `mcu = {port = …}` is short
    for an officina MCU board in all three roles. The run thresholds and session rules come
    from the api's retained config topic; the same keys here (deprecated) are the fallback
    until a config arrives.
    """

    id: Id
    name: str | None = None
    current: CurrentConfig
    reader: ReaderConfig | None = None
    relay: RelayConfig | None = None
    # A buzzer or lamp, on from the warning before an automatic lock until the lock or more work.
    warning: RelayConfig | None = None
    idle_amps: Positive = DEFAULT_POLICY.idle_amps
    run_amps: Positive = DEFAULT_POLICY.run_amps
    hysteresis_amps: NonNegative = DEFAULT_POLICY.hysteresis_amps
    min_dwell_s: NonNegative = DEFAULT_POLICY.min_dwell_s
    idle_timeout_s: Positive = DEFAULT_POLICY.idle_timeout_s
    max_duration_s: Positive = DEFAULT_POLICY.max_duration_s
    warn_before_s: NonNegative = DEFAULT_POLICY.warn_before_s
    max_sample_gap_s: Positive = 5.0
    volts_nominal: Positive = 230.0
    power_factor: Annotated[float, Field(gt=0, le=1)] = 0.9
    telemetry_interval_s: Positive = 1.0

    @model_validator(mode="before")
    @classmethod
    def _expand_mcu(cls, data: object) -> object:
        if isinstance(data, dict) and "mcu" in data:
            data = dict(data)
            board = data.pop("mcu")
            if isinstance(board, dict):
                for role in ("current", "reader", "relay"):
                    data.setdefault(role, {"driver": "mcu", **board})
        return data

    def devices(self) -> set[str]:
        """The serial ports and device files this machine's drivers use."""
        found: set[str] = set()
        for role in (self.current, self.reader, self.relay, self.warning):
            for name in ("port", "device"):
                value = getattr(role, name, None)
                if isinstance(value, str):
                    found.add(value)
        return found

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Self:
        if self.idle_amps >= self.run_amps:
            raise ValueError("run_amps: must be greater than idle_amps")
        if self.hysteresis_amps >= self.idle_amps:
            raise ValueError("hysteresis_amps: must be smaller than idle_amps")
        return self

    def tuned(self, policy: Policy) -> MachineConfig:
        """This machine under a policy from the api: its wiring stays, its rules are replaced."""
        # Only the policy's own fields: a config's machine id and out-of-order state are not rules.
        return self.model_copy(update=policy.model_dump(include=set(POLICY_KEYS)))

    def policy_keys_set(self) -> tuple[str, ...]:
        """The policy keys this machine's section gives itself (deprecated)."""
        return tuple(key for key in POLICY_KEYS if key in self.model_fields_set)

    def thresholds(self) -> RunThresholds:
        """The run-detection calibration of this machine."""
        return RunThresholds(
            idle_amps=self.idle_amps,
            run_amps=self.run_amps,
            hysteresis_amps=self.hysteresis_amps,
            min_dwell_s=self.min_dwell_s,
        )

    def policy(self) -> SessionPolicy:
        """The session rules of this machine."""
        return SessionPolicy(
            idle_timeout_s=self.idle_timeout_s,
            max_duration_s=self.max_duration_s,
            warn_before_s=self.warn_before_s,
            max_sample_gap_s=self.max_sample_gap_s,
            volts_nominal=self.volts_nominal,
            power_factor=self.power_factor,
            telemetry_interval_s=self.telemetry_interval_s,
        )


class AccessConfig(_Strict):
    """A card allowed at start-up, before (or without) the api's access list."""

    card: str
    member: Id
    machines: tuple[Id, ...] | Literal["*"] = "*"
    until: datetime | None = None

    @model_validator(mode="after")
    def _card_ok(self) -> Self:
        normalise_uid(self.card)
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("until: needs a time zone, e.g. 2026-12-31T23:59:59+01:00")
        return self


class GatewayConfig(_Strict):
    """The whole gateway configuration."""

    site: Id
    gateway: Id
    site_key: SecretStr
    broker: BrokerConfig = BrokerConfig()
    spool: SpoolConfig = SpoolConfig()
    machines: Annotated[tuple[MachineConfig, ...], Field(max_length=8)]
    access: tuple[AccessConfig, ...] = ()

    @field_validator("site_key")
    @classmethod
    def _site_key_ok(cls, value: SecretStr) -> SecretStr:
        # The gateway never runs the demo's api, so the demo's well-known key is refused too.
        reason = weak_secret_reason(value.get_secret_value())
        if reason is not None:
            raise ValueError(reason)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.machines:
            raise ValueError("machines: a gateway serves at least one machine")
        ids = [m.id for m in self.machines]
        if len(set(ids)) != len(ids):
            raise ValueError("machines: each machine id must appear once")
        seen: dict[str, str] = {}
        for machine in self.machines:
            for device in machine.devices():
                if device in seen:
                    raise ValueError(
                        f"machines: {device} is used by {seen[device]} and {machine.id}"
                    )
                seen[device] = machine.id
        known = set(ids)
        for n, entry in enumerate(self.access):
            if entry.machines != "*" and not set(entry.machines) <= known:
                raise ValueError(f"access.{n}.machines: names a machine not in machines")
        return self

    def deprecated_keys(self) -> tuple[str, ...]:
        """Policy keys set in machine sections (`machines[id].key`): the api's config owns them."""
        return tuple(
            f"machines[{machine.id}].{key}"
            for machine in self.machines
            for key in machine.policy_keys_set()
        )

    def site_key_bytes(self) -> bytes:
        """The secret that keys card hashes (checked against `contract.secrets` on load)."""
        return self.site_key.get_secret_value().encode("utf-8")

    def access_for(self, machine: str, key: bytes) -> AccessList:
        """The fallback access list of one machine, card UIDs hashed with the site key."""
        grants = [
            Grant(
                card_hash(entry.card, key),
                entry.member,
                int(entry.until.astimezone(UTC).timestamp() * 1000) if entry.until else None,
            )
            for entry in self.access
            if entry.machines == "*" or machine in entry.machines
        ]
        # Version -1: any list from the api, even version 0, replaces the configured fallback.
        return AccessList(grants, version=-1)


# Pydantic's types of a number or a yes/no, which a value written in quotes is not.
_NUMBER_TYPES = frozenset({"int_type", "int_parsing", "float_type", "float_parsing", "bool_type"})
_NAMED = re.compile(r"(?P<field>[a-z_][a-z0-9_]*): (?P<message>.*)", re.DOTALL)


def _named(plain: PlainProblem, error: ErrorDetails) -> str:
    """One problem as `field: what was wrong`, in the file's own words."""
    where, message = plain.field, plain.message
    # A check across fields names its field first ("url: …"): join it to the location.
    named = _NAMED.fullmatch(message)
    if named is not None:
        where = f"{where}.{named['field']}" if where else named["field"]
        message = named["message"]
    where = where or "(file)"
    if error["type"] in _NUMBER_TYPES and isinstance(error["input"], str):
        message = f"{message}, not text in quotes ({error['input']!r})"
    return f"{where}: {message}"


def _describe(err: ValidationError, source: str, data: object) -> str:
    # One line per problem, each naming the file, so each is whole when it stands alone.
    plain = plain_problems(err, data=data, model=GatewayConfig)
    errors = err.errors(include_url=False)
    return "\n".join(f"{source}: {_named(p, e)}" for p, e in zip(plain, errors, strict=True))


def _as_json(value: object) -> str:
    # TOML's dates and times travel as ISO text, which the strict JSON validation accepts.
    def iso(item: object) -> str:
        if isinstance(item, datetime | date | time):
            return item.isoformat()
        raise TypeError(f"{type(item).__name__} is not a TOML value")

    return json.dumps(value, default=iso)


def parse_config(text: str, *, source: str = "gateway.toml") -> GatewayConfig:
    """Parse TOML text strictly (no number in quotes); every problem at once, with its field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from err
    try:
        # Strict as JSON: a number or yes/no in quotes is refused, while paths, names of
        # policies and lists are read from the text TOML gives them as.
        config = GatewayConfig.model_validate_json(_as_json(data), strict=True)
    except ValidationError as err:
        raise ConfigError(_describe(err, source, data)) from err
    for key in config.deprecated_keys():
        log.warning(
            "%s: %s is deprecated: machine policy comes from the registry over the api's "
            "config topic; the value here is only the fallback until a config arrives",
            source,
            key,
        )
    return config


def load_config(path: Path) -> GatewayConfig:
    """Read and validate a gateway configuration file: what `check` accepts, `run` accepts."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {err.start}); save it as UTF-8") from err
    return parse_config(text, source=str(path))
