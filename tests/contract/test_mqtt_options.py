"""Broker options from a URL: what each part means, and bad input refused naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from contract.mqtt import BrokerOptions, MqttOptionsError, MqttProtocol
from contract.mqtt_cli import broker_options
from gateway.config import BrokerConfig, TlsConfig
from gateway.errors import ConfigError
from officina.cli import app as officina_app


def test_a_plain_url_gives_host_port_and_login() -> None:
    options = BrokerOptions.from_url("mqtt://ingest:s%40cret@broker.lan:1884")

    assert (options.host, options.port, options.tls) == ("broker.lan", 1884, False)
    assert (options.username, options.password) == ("ingest", "s@cret")


def test_mqtts_means_tls_on_port_8883_by_default() -> None:
    options = BrokerOptions.from_url("mqtts://broker.lan")

    assert (options.port, options.tls) == (8883, True)


def test_the_login_names_the_client_unless_an_id_is_given() -> None:
    with_login = BrokerOptions.from_url("mqtt://gw-nord:password@broker.lan")
    given = with_login.but(client_id="officina-gw-nord")

    assert with_login.identity("officina-ingest") == "gw-nord"
    assert given.identity("officina-ingest") == "officina-gw-nord"
    assert BrokerOptions().identity("officina-ingest") == "officina-ingest"


def test_the_password_is_never_shown() -> None:
    options = BrokerOptions.from_url("mqtt://api:very-secret@broker.lan")

    assert "very-secret" not in repr(options)
    assert "very-secret" not in options.url


@pytest.mark.parametrize(
    ("url", "field"),
    [
        pytest.param("http://broker.lan", "url", id="bad-scheme"),
        pytest.param("broker.lan:1883", "url", id="no-scheme"),
        pytest.param("mqtt://broker.lan:70000", "port", id="port-out-of-range"),
        pytest.param("mqtt://broker.lan:0", "port", id="port-zero"),
        pytest.param("mqtt://broker.lan:eighty", "port", id="port-not-a-number"),
        pytest.param("mqtt://:1883", "host", id="no-host"),
        pytest.param("mqtt://broker.lan/officina", "url", id="a-path"),
    ],
)
def test_a_bad_url_is_refused_naming_the_field(url: str, field: str) -> None:
    with pytest.raises(MqttOptionsError) as refused:
        BrokerOptions.from_url(url)

    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


@pytest.mark.parametrize("field", ["ca_file", "cert_file", "key_file"])
def test_a_missing_certificate_file_is_refused_naming_it(field: str, tmp_path: Path) -> None:
    present = tmp_path / "present.pem"
    present.write_text("-----BEGIN CERTIFICATE-----\n")
    files = {"ca_file": present, "cert_file": present, "key_file": present}
    files[field] = tmp_path / "missing.pem"

    with pytest.raises(MqttOptionsError) as refused:
        BrokerOptions.from_url(
            "mqtts://broker.lan",
            ca_file=files["ca_file"],
            cert_file=files["cert_file"],
            key_file=files["key_file"],
        )

    assert refused.value.field == field
    assert "missing.pem" in str(refused.value)


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text("")

    with pytest.raises(MqttOptionsError) as refused:
        BrokerOptions.from_url("mqtts://broker.lan", cert_file=cert)

    assert refused.value.field == "key_file"


def test_certificates_for_a_plain_broker_are_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("")

    with pytest.raises(MqttOptionsError) as refused:
        BrokerOptions.from_url("mqtt://broker.lan", ca_file=ca)

    assert refused.value.field == "tls"


def test_a_ca_file_that_is_no_certificate_is_refused_naming_it(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate\n")
    options = BrokerOptions.from_url("mqtts://broker.lan", ca_file=ca)

    with pytest.raises(MqttOptionsError) as refused:
        options.tls_context()

    assert refused.value.field == "ca_file"


def test_the_command_line_reports_a_bad_file_on_its_own_option(tmp_path: Path) -> None:
    with pytest.raises(typer.BadParameter) as refused:
        broker_options("mqtts://broker.lan", ca_file=tmp_path / "nowhere.pem")

    assert refused.value.param_hint == "--broker-ca"


def test_the_command_line_keeps_the_protocol_asked_for() -> None:
    options = broker_options("mqtt://127.0.0.1:1883", protocol=MqttProtocol.V5)

    assert options.protocol is MqttProtocol.V5


def test_a_gateway_whose_ca_file_is_missing_is_refused_naming_it(tmp_path: Path) -> None:
    broker = BrokerConfig(url="mqtts://broker.lan", tls=TlsConfig(ca_file=tmp_path / "ca.crt"))

    with pytest.raises(ConfigError) as refused:
        broker.options()

    assert str(refused.value).startswith("broker.ca_file: ")


def test_a_gateway_with_a_ca_speaks_tls_as_its_own_login() -> None:
    broker = BrokerConfig(url="mqtts://broker.lan", username="gw-a", password=SecretStr("pw"))

    options = broker.options()

    assert (options.tls, options.port, options.identity("officina-gw")) == (True, 8883, "gw-a")


@pytest.mark.parametrize("command", ["ingest", "api"])
def test_every_service_reports_a_missing_broker_ca_on_its_option(
    command: str, tmp_path: Path
) -> None:
    arguments = [command, "run", "--broker", "mqtts://127.0.0.1:8883"]
    arguments += ["--broker-ca", str(tmp_path / "nowhere.crt")]
    if command == "api":
        arguments += ["--site", "officina-nord", "--demo"]

    result = CliRunner().invoke(officina_app, arguments, env={"COLUMNS": "200"})

    assert result.exit_code == 2, result.output
    assert "--broker-ca" in result.output
    assert "nowhere.crt" in result.output
