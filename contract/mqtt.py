"""The one MQTT connection layer: broker options, TLS, and a configured paho-mqtt 2.x client.

The gateway, ingest, the api and the floor watcher all build their clients here, so a broker
URL, a login, a CA or a client certificate means the same thing to every one of them.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, overload
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

PLAIN_PORT = 1883
TLS_PORT = 8883
MAX_CLIENT_ID = 128
SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}


class MqttError(Exception):
    """Something about the broker connection went wrong."""


class MqttOptionsError(MqttError, ValueError):
    """Broker options that cannot work: a bad URL, port, or a missing certificate file."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {problem}")


class MqttConnectError(MqttError):
    """The broker could not be reached, or the TLS handshake with it failed."""


class MqttTrustError(MqttConnectError):
    """The broker's certificate was not signed by a CA we trust."""


class MqttProtocol(StrEnum):
    """The MQTT version spoken: 5 on Mosquitto, 3.1.1 where a broker knows no better."""

    V5 = "5"
    V311 = "3.1.1"

    @property
    def paho(self) -> MQTTProtocolVersion:
        """paho's constant for this version."""
        return (
            MQTTProtocolVersion.MQTTv5 if self is MqttProtocol.V5 else MQTTProtocolVersion.MQTTv311
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOptions:
    """Where the broker is, who we are to it, and how the connection is protected."""

    host: str = "127.0.0.1"
    port: int = PLAIN_PORT
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # None: the login names the client (the broker binds ids to logins), else the component's.
    client_id: str | None = None
    protocol: MqttProtocol = MqttProtocol.V311
    keepalive_s: int = 30

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise MqttOptionsError("host", f"{self.host!r} is not a host name")
        if not 0 < self.port < 65_536:
            raise MqttOptionsError("port", f"{self.port} is not a TCP port (1-65535)")
        if self.password is not None and self.username is None:
            raise MqttOptionsError("password", "given without a username")
        if self.client_id is not None and not 0 < len(self.client_id) <= MAX_CLIENT_ID:
            raise MqttOptionsError("client_id", f"must be 1-{MAX_CLIENT_ID} characters")
        if not 5 <= self.keepalive_s <= 3600:
            raise MqttOptionsError("keepalive_s", "must be between 5 and 3600 seconds")
        if (self.cert_file is None) != (self.key_file is None):
            raise MqttOptionsError(
                "cert_file" if self.key_file is not None else "key_file",
                "a client certificate needs both cert_file and key_file",
            )
        if not self.tls and (self.ca_file or self.cert_file):
            raise MqttOptionsError("tls", "certificates given for a plain mqtt:// broker")
        for name in ("ca_file", "cert_file", "key_file"):
            path: Path | None = getattr(self, name)
            if path is not None and not path.is_file():
                raise MqttOptionsError(name, f"{path} is not a readable file")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        client_id: str | None = None,
        protocol: MqttProtocol = MqttProtocol.V311,
        keepalive_s: int = 30,
    ) -> BrokerOptions:
        """Options from `mqtt://[user[:password]@]host[:port]` or `mqtts://…` (TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise MqttOptionsError(
                "url", f"{url!r}: expected mqtt://host[:port] or mqtts://host[:port]"
            )
        tls = SCHEMES[parts.scheme]
        try:
            port = parts.port
        except ValueError as err:
            raise MqttOptionsError("port", f"{url!r}: port out of range or not a number") from err
        if not parts.hostname:
            raise MqttOptionsError("host", f"{url!r}: no host in the broker URL")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise MqttOptionsError("url", f"{url!r}: a broker URL has no path or query")
        return cls(
            host=parts.hostname,
            port=port if port is not None else (TLS_PORT if tls else PLAIN_PORT),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            client_id=client_id,
            protocol=protocol,
            keepalive_s=keepalive_s,
        )

    @property
    def address(self) -> str:
        """`host:port`, for messages."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The broker's URL without the password, for logs."""
        who = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{who}{self.address}"

    def identity(self, fallback: str) -> str:
        """The client id to use: the one given, else the login's name, else the fallback."""
        return self.client_id or self.username or fallback

    def but(self, **changes: Any) -> BrokerOptions:
        """A copy with some options changed (validated again)."""
        return replace(self, **changes)

    def tls_context(self) -> ssl.SSLContext:
        """A TLS client context trusting the CA file (or the system's) with our certificate."""
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        except (OSError, ssl.SSLError) as err:
            raise MqttOptionsError(
                "ca_file", f"{self.ca_file}: not a CA certificate ({err})"
            ) from err
        if self.cert_file is not None and self.key_file is not None:
            try:
                context.load_cert_chain(str(self.cert_file), str(self.key_file))
            except (OSError, ssl.SSLError) as err:
                raise MqttOptionsError(
                    "cert_file", f"{self.cert_file} with {self.key_file}: {err}"
                ) from err
        return context


def describe_connect_error(options: BrokerOptions, err: OSError) -> MqttConnectError:
    """The library's connection error, said in terms of the broker options."""
    if isinstance(err, ssl.SSLCertVerificationError):
        trusted = f"CA file {options.ca_file}" if options.ca_file else "the system's CAs"
        return MqttTrustError(
            f"broker {options.address}: its certificate was not trusted by {trusted} "
            f"({err.verify_message or err.reason})"
        )
    if isinstance(err, ssl.SSLError):
        return MqttConnectError(f"broker {options.address}: TLS handshake failed ({err})")
    if isinstance(err, ConnectionRefusedError):
        return MqttConnectError(f"broker {options.address}: connection refused (is it running?)")
    return MqttConnectError(f"cannot reach broker {options.address}: {err}")


def connack_words(reason: ReasonCode) -> str:
    """The broker's answer to a connect in plain words: `not authorised`, `server unavailable`."""
    return str(reason).lower().replace("authorized", "authorised")


class BrokerClient(mqtt.Client):
    """A paho client that remembers, in the options' words, why its last connect failed."""

    broker: BrokerOptions
    connect_error: MqttConnectError | None = None

    def reconnect(self) -> MQTTErrorCode:
        """Connect again; a failure is kept in `connect_error` (and logged) before paho retries."""
        try:
            result = super().reconnect()
        except OSError as err:
            described = describe_connect_error(self.broker, err)
            if self.connect_error is None or str(self.connect_error) != str(described):
                log.warning("%s", described)
            self.connect_error = described
            raise
        self.connect_error = None
        return result

    def connect_now(self, **kwargs: Any) -> None:
        """Connect in the foreground; raise MqttConnectError saying why it failed."""
        try:
            self.connect(self.broker.host, self.broker.port, self.broker.keepalive_s, **kwargs)
        except OSError as err:
            raise describe_connect_error(self.broker, err) from err

    def connect_in_background(self, **kwargs: Any) -> None:
        """Start connecting (and reconnecting) on paho's thread; errors land in connect_error."""
        try:
            self.connect_async(
                self.broker.host, self.broker.port, self.broker.keepalive_s, **kwargs
            )
        except (OSError, ValueError) as err:
            raise MqttConnectError(f"broker {self.broker.address}: {err}") from err
        self.loop_start()


ClientT = TypeVar("ClientT", bound=BrokerClient)


@overload
def make_client(
    options: BrokerOptions,
    *,
    fallback_client_id: str,
    persistent: bool = False,
    reconnect_delay_s: tuple[int, int] = (1, 30),
) -> BrokerClient: ...


@overload
def make_client(
    options: BrokerOptions,
    *,
    fallback_client_id: str,
    persistent: bool = False,
    client_class: type[ClientT],
    reconnect_delay_s: tuple[int, int] = (1, 30),
) -> ClientT: ...


def make_client(
    options: BrokerOptions,
    *,
    fallback_client_id: str,
    persistent: bool = False,
    client_class: type[BrokerClient] = BrokerClient,
    reconnect_delay_s: tuple[int, int] = (1, 30),
) -> BrokerClient:
    """A paho-mqtt 2.x client configured from the options: id, login, TLS, protocol, retry.

    `persistent` asks the broker to keep the session (and the messages queued for it) while
    the client is away: clean_session False on 3.1.1; on 5 the caller passes clean_start.
    """
    v5 = options.protocol is MqttProtocol.V5
    client = client_class(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=options.identity(fallback_client_id),
        protocol=options.protocol.paho,
        clean_session=None if v5 else not persistent,
    )
    client.broker = options
    if options.username is not None:
        client.username_pw_set(options.username, options.password)
    if options.tls:
        client.tls_set_context(options.tls_context())
    client.reconnect_delay_set(min_delay=reconnect_delay_s[0], max_delay=reconnect_delay_s[1])
    return client
