"""15.10 Secrets and configs: one rule for all secrets; `gateway check` refuses what `run` does.

Weak keys are tried on every component's settings (gateway, api, ingest, billing), placeholder
passwords and broken files on the gateway's configuration; each is refused with one line naming
the field. The example configuration, its placeholders filled with what `officina init` and the
api issue, passes `check` and then runs: a real gateway process logs in to a real Mosquitto with
the login the api issued and says it is online.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from contract import GatewayTopic
from contract.secrets import DEMO_API_SECRET, DEMO_PSEUDONYM_KEY, DEMO_SITE_KEY
from firmware_bridge.emulator import Emulator
from gateway.cli import app as gateway_app
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from harness.plugin import MosquittoFactory
from services.api.cli import app as api_app
from services.api.gateways import IssuedCredentials, acl_file, credentials, issue_credentials
from services.api.security import PasswordCost, Passwords
from services.billing.cli import app as billing_app
from services.ingest.cli import app as ingest_app
from services.ledger import open_ledger
from tests.security.conftest import AttackLog

ITEM = "15.10 secrets and configs"
EXAMPLE = Path(__file__).parents[2] / "gateway" / "deploy" / "gateway.example.toml"
SITE = "officine-zero"
GATEWAY = "gw-hall-a"
SITE_KEY = "Qm7vT2xK9pLw4Rz8Nc1Hs6Jd3Fg5Yb0a-officine-zero"
EXAMPLE_SITE_KEY = "REPLACE-with-the-site-key-from-officina-init"
EXAMPLE_PASSWORD = "REPLACE-with-this-gateway-broker-password"
# Wide enough that no message is wrapped: a refusal must be whole on its one line.
WIDE = {"COLUMNS": "300", "NO_COLOR": "1"}
WEAK_KEYS = [
    pytest.param("x", id="one-character"),
    pytest.param(" " * 32, id="32-spaces"),
    pytest.param("k" * 40, id="one-repeated-character"),
    pytest.param("too-short-for-a-key", id="short"),
    pytest.param(EXAMPLE_SITE_KEY, id="the-example's-placeholder"),
    pytest.param("changeme", id="changeme"),
    pytest.param(DEMO_SITE_KEY, id="the-demo's-key"),
]
runner = CliRunner()


def url_of(broker: MosquittoServer) -> str:
    """The broker's URL as the configuration and the commands take it."""
    return f"mqtt://{broker.host}:{broker.port}"


def example_config(
    tmp_path: Path, broker: MosquittoServer, board: str, *, password: str = EXAMPLE_PASSWORD
) -> str:
    """The example file as shipped, pointed at this test's broker, board and spool."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace(
        'url = "mqtts://broker.officine-zero.lan:8883"', f'url = "{url_of(broker)}"'
    )
    text = text.replace('[broker.tls]\nca_file = "/etc/officina/ca.crt"\n', "")
    text = text.replace("/var/lib/officina/gateway.db", str(tmp_path / "spool.db"))
    text = text.replace("/dev/serial/by-id/usb-officina_mcu-if00", board)
    return text.replace(EXAMPLE_PASSWORD, password)


def filled(text: str, *, password: str = "the-issued-password-of-gw-hall-a") -> str:
    """The example with its placeholders replaced, as the installer is told to."""
    return text.replace(EXAMPLE_SITE_KEY, SITE_KEY).replace(EXAMPLE_PASSWORD, password)


def both_refuse(path: Path) -> list[str]:
    """Run `check` and `run` on one file; both must refuse it alike; the lines they printed."""
    checked = runner.invoke(gateway_app, ["check", "--config", str(path)], env=WIDE)
    ran = runner.invoke(gateway_app, ["run", "--config", str(path)], env=WIDE)
    assert checked.exit_code == 2, checked.output
    assert ran.exit_code == 2, ran.output
    assert checked.stderr == ran.stderr
    assert "Traceback" not in checked.output
    return checked.stderr.splitlines()


@pytest.fixture
def board() -> Iterator[str]:
    """An officina MCU board, emulated on a pseudo-terminal: the gateway's only hardware."""
    with Emulator("lathe", sample_period_s=0.2, seed=10) as emulator:
        yield emulator.port


@pytest.fixture
def broker(mosquitto: MosquittoServer) -> MosquittoServer:
    """The session's real Mosquitto: the configurations below point at it."""
    return mosquitto


@pytest.mark.parametrize("key", WEAK_KEYS)
def test_a_weak_site_key_in_the_gateway_file_is_refused_by_check_and_run_alike(
    attack: AttackLog, tmp_path: Path, broker: MosquittoServer, board: str, key: str
) -> None:
    attack.tried(ITEM, f"gateway.toml with site_key {key[:20]!r}…, through check and run")
    path = tmp_path / "gateway.toml"
    text = filled(example_config(tmp_path, broker, board))
    path.write_text(text.replace(SITE_KEY, key), encoding="utf-8")

    [line] = both_refuse(path)

    assert line.startswith(f"{path}: site_key: ")
    attack.held("check and run both exit 2 with the same one line naming site_key")


def test_the_example_files_placeholders_are_refused_by_check_and_run_alike(
    attack: AttackLog, tmp_path: Path, broker: MosquittoServer, board: str
) -> None:
    attack.tried(ITEM, "the example gateway.toml used as shipped, placeholders left in")
    path = tmp_path / "gateway.toml"
    path.write_text(example_config(tmp_path, broker, board), encoding="utf-8")

    lines = both_refuse(path)

    assert [line.split(": ")[1] for line in lines] == ["site_key", "broker.password"]
    assert all("placeholder" in line for line in lines)
    attack.held("both placeholders refused, one line each, naming site_key and broker.password")


@pytest.mark.parametrize("port", [0, 70_000])
def test_a_broker_port_out_of_range_is_refused(
    attack: AttackLog, tmp_path: Path, broker: MosquittoServer, board: str, port: int
) -> None:
    attack.tried(ITEM, f"gateway.toml with the broker at port {port}")
    path = tmp_path / "gateway.toml"
    text = filled(example_config(tmp_path, broker, board))
    path.write_text(text.replace(url_of(broker), f"mqtt://{broker.host}:{port}"), encoding="utf-8")

    [line] = both_refuse(path)

    assert line == f"{path}: broker.url: the port must be a number from 1 to 65535"
    attack.held(f"port {port} refused by check and run, naming broker.url")


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("keepalive_s = 30", "broker.keepalive_s"),
        ("journal_interval_s = 2.0", "spool.journal_interval_s"),
        ("max_telemetry = 100000", "spool.max_telemetry"),
    ],
)
def test_a_number_written_in_quotes_is_refused(
    attack: AttackLog,
    tmp_path: Path,
    broker: MosquittoServer,
    board: str,
    written: str,
    field: str,
) -> None:
    key, value = written.split(" = ")
    attack.tried(ITEM, f'gateway.toml with {key} = "{value}", a number as text')
    path = tmp_path / "gateway.toml"
    text = filled(example_config(tmp_path, broker, board))
    path.write_text(text.replace(written, f'{key} = "{value}"'), encoding="utf-8")

    [line] = both_refuse(path)

    assert line.startswith(f"{path}: {field}: ") and "not text in quotes" in line
    attack.held(f"refused by check and run, naming {field}")


def test_a_file_that_is_not_utf8_gets_one_line_not_a_traceback(
    attack: AttackLog, tmp_path: Path, broker: MosquittoServer, board: str
) -> None:
    attack.tried(ITEM, "gateway.toml saved as Latin-1 with an accented machine name")
    path = tmp_path / "gateway.toml"
    text = filled(example_config(tmp_path, broker, board)).replace("parallelo", "però")
    path.write_bytes(text.encode("latin-1", errors="replace"))

    [line] = both_refuse(path)

    assert line.startswith(f"{path}: not valid UTF-8")
    attack.held("one line naming the file and the byte, exit 2, no traceback")


def test_a_file_that_is_not_toml_gets_one_line_not_a_traceback(
    attack: AttackLog, tmp_path: Path
) -> None:
    attack.tried(ITEM, "gateway.toml that is not TOML (a key without a value, binary junk)")
    path = tmp_path / "gateway.toml"
    path.write_bytes(b'site = "officine-zero"\ngateway =\n\x00\x01')

    [line] = both_refuse(path)

    assert line.startswith(f"{path}: not valid TOML: ")
    attack.held("one line naming the file and the line, exit 2, no traceback")


def issue_for_example(ledger_url: str) -> tuple[IssuedCredentials, str]:
    """The example gateway's login and broker ACL, made by the api's own code on a real ledger."""
    engine = open_ledger(ledger_url)
    try:
        with Session(engine) as db:
            issued = issue_credentials(
                db,
                passwords=Passwords(PasswordCost(memory_kib=1024, passes=1, lanes=1)),
                site=SITE,
                gateway=GATEWAY,
                now=datetime.now(UTC),
            )
            db.commit()
            acl = acl_file(SITE, credentials(db, SITE), {GATEWAY: ["lathe-1"]})
    finally:
        engine.dispose()
    return issued, acl


def test_the_example_filled_in_passes_check_and_runs_with_the_login_the_api_issued(
    attack: AttackLog,
    tmp_path: Path,
    sqlite_url: str,
    mosquitto_factory: MosquittoFactory,
    board: str,
) -> None:
    attack.tried(ITEM, "the example gateway.toml filled in: accepted by check, then run for real")
    issued, acl = issue_for_example(sqlite_url)
    password = issued.password
    watcher_acl = f"user watcher\ntopic read {GatewayTopic(SITE, GATEWAY)}\n"
    broker = mosquitto_factory(
        users={issued.username: password, "watcher": "watcher-password-0123"},
        acl=acl + "\n" + watcher_acl,
    )
    path = tmp_path / "gateway.toml"
    path.write_text(filled(example_config(tmp_path, broker, board), password=password))

    checked = runner.invoke(gateway_app, ["check", "--config", str(path)], env=WIDE)
    assert checked.exit_code == 0, checked.output
    assert f'username = "{issued.username}"' in EXAMPLE.read_text(encoding="utf-8")

    with MqttProbe(
        host=broker.host, port=broker.port, username="watcher", password="watcher-password-0123"
    ) as probe:
        probe.subscribe(str(GatewayTopic(SITE, GATEWAY)))
        command = [sys.executable, "-m", "officina", "gateway", "run", "--config", str(path)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            status = json.loads(probe.receive(timeout=30).payload)
            assert status["status"] == "online"
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
    attack.held(f"check passed; run logged in as {issued.username} and said it is online")


@pytest.mark.parametrize("site_key", ["x", " " * 32, DEMO_SITE_KEY])
def test_the_api_refuses_a_weak_site_key_before_serving(
    attack: AttackLog, sqlite_url: str, broker: MosquittoServer, site_key: str
) -> None:
    attack.tried(ITEM, f"officina api run with the site key {site_key!r}")
    env = {
        **WIDE,
        "OFFICINA_API_SECRET": "Wq3-the-api-token-key-of-this-workshop-9Zt",
        "OFFICINA_SITE_KEY": site_key,
    }
    arguments = ["run", "--site", SITE, "--ledger", sqlite_url, "--broker", url_of(broker)]

    result = runner.invoke(api_app, arguments, env=env)

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: invalid api settings: site_key: ")
    attack.held("exit 2 before listening, one line naming site_key")


def test_the_api_refuses_the_demo_secret_outside_the_demo(
    attack: AttackLog, sqlite_url: str, broker: MosquittoServer
) -> None:
    attack.tried(ITEM, "officina api run with the demo's api secret, without --demo")
    env = {**WIDE, "OFFICINA_API_SECRET": DEMO_API_SECRET, "OFFICINA_SITE_KEY": SITE_KEY}
    arguments = ["run", "--site", SITE, "--ledger", sqlite_url, "--broker", url_of(broker)]

    result = runner.invoke(api_app, arguments, env=env)

    assert result.exit_code == 2
    assert "secret: the demo's well-known value is refused outside the demo" in result.stderr
    attack.held("exit 2 naming secret")


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--pseudonym-key", "k" * 40, "pseudonym_key"),
        ("--pseudonym-key", DEMO_PSEUDONYM_KEY, "pseudonym_key"),
        ("--influx-token", "x", "influx token"),
        ("--influx-token", "change-me", "influx token"),
    ],
)
def test_ingest_refuses_a_weak_key_or_token_before_connecting(
    attack: AttackLog,
    sqlite_url: str,
    broker: MosquittoServer,
    option: str,
    value: str,
    field: str,
) -> None:
    attack.tried(ITEM, f"officina ingest run {option} {value!r}")
    arguments = ["run", "--broker", url_of(broker), "--ledger", sqlite_url]
    arguments += ["--influx-url", "http://127.0.0.1:9", option, value]

    result = runner.invoke(ingest_app, arguments, env=WIDE)

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and f"{field}: " in line
    attack.held(f"exit 2 before connecting, one line naming {field}")


def test_ingest_refuses_a_placeholder_broker_password(
    attack: AttackLog, sqlite_url: str, broker: MosquittoServer
) -> None:
    attack.tried(ITEM, "officina ingest run with the broker password change-me")
    url = url_of(broker).replace("mqtt://", "mqtt://ingest:change-me@")

    result = runner.invoke(ingest_app, ["run", "--broker", url, "--ledger", sqlite_url], env=WIDE)

    assert result.exit_code == 2
    assert "password: a placeholder from an example is refused" in result.stderr
    attack.held("exit 2 naming the password")


@pytest.mark.parametrize("key", ["short", " " * 40, DEMO_PSEUDONYM_KEY])
def test_billing_refuses_a_weak_pseudonym_key_before_projecting(
    attack: AttackLog, sqlite_url: str, key: str
) -> None:
    attack.tried(ITEM, f"officina statements schedule --pseudonym-key {key!r}")
    arguments = ["statements", "schedule", "--once", "--ledger", sqlite_url]
    arguments += ["--influx-url", "http://127.0.0.1:9", "--pseudonym-key", key]

    result = runner.invoke(billing_app, arguments, env=WIDE)

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: pseudonym_key: ")
    attack.held("exit 2 before anything is written, one line naming pseudonym_key")
