"""The broker options every `officina` command takes: --broker URL and its TLS files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contract.mqtt import BrokerOptions, MqttOptionsError, MqttProtocol
from contract.terminal import help_text

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"

BrokerUrlOption = Annotated[
    str,
    typer.Option(
        "--broker",
        help=help_text("mqtt://[user[:password]@]host[:port], or mqtts://… for TLS"),
        envvar="OFFICINA_BROKER",
    ),
]
BrokerCaOption = Annotated[
    Path | None,
    typer.Option(
        "--broker-ca",
        help="CA certificate that signed the broker's (mqtts; default: the system's CAs)",
        envvar="OFFICINA_BROKER_CA",
    ),
]
BrokerCertOption = Annotated[
    Path | None,
    typer.Option(
        "--broker-cert",
        help="our client certificate, for brokers that require one (mqtts)",
        envvar="OFFICINA_BROKER_CERT",
    ),
]
BrokerKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--broker-key",
        help="the private key of --broker-cert",
        envvar="OFFICINA_BROKER_KEY",
    ),
]

_OPTION_OF_FIELD = {
    "ca_file": "--broker-ca",
    "cert_file": "--broker-cert",
    "key_file": "--broker-key",
    "client_id": "--client-id",
    "protocol": "--mqtt-version",
}


def broker_options(
    url: str,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    *,
    client_id: str | None = None,
    protocol: MqttProtocol = MqttProtocol.V311,
) -> BrokerOptions:
    """The options from the command line; a bad one is reported on the option that gave it."""
    try:
        return BrokerOptions.from_url(
            url,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            client_id=client_id,
            protocol=protocol,
        )
    except MqttOptionsError as err:
        raise typer.BadParameter(
            str(err), param_hint=_OPTION_OF_FIELD.get(err.field, "--broker")
        ) from err
