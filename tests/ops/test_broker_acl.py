"""The broker files made from the registry, enforced by a real Mosquitto."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from contract import GatewayTopic, MachineTopic, TopicKind
from harness.errors import MqttProbeError
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.gateways import issue_credentials
from services.api.security import PasswordCost, Passwords
from services.ledger import MachineSpec, Registry, open_ledger
from services.ops import BrokerAclError, ServiceLogin, broker_files, write_broker_files

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INGEST = ServiceLogin(username="ingest", password="ingest-password-1")
API = ServiceLogin(username="api", password="api-password-12345")
NORD, SUD = "officina-nord", "officina-sud"


@dataclass(frozen=True, slots=True)
class Floor:
    """The broker, and the passwords the api issued to the two gateways."""

    broker: MosquittoServer
    gateway_a: tuple[str, str]
    gateway_b: tuple[str, str]

    def client(self, login: tuple[str, str] | ServiceLogin | None) -> MqttProbe:
        """A connected client with this login (None: anonymous)."""
        if isinstance(login, ServiceLogin):
            login = (login.username, login.password)
        username, password = login if login else (None, None)
        probe = MqttProbe(
            host=self.broker.host, port=self.broker.port, username=username, password=password
        )
        probe.connect()
        return probe


def _register(engine: Engine) -> tuple[tuple[str, str], tuple[str, str]]:
    registry = Registry(engine)
    for site, machine, gateway in (
        (NORD, "lathe-1", "gw-a"),
        (NORD, "mill-1", "gw-b"),
        (SUD, "laser-1", "gw-c"),  # no login issued yet: left out, with a warning
    ):
        registry.save_machine(
            MachineSpec(
                site=site, id=machine, name=machine, gateway=gateway, idle_amps=0.5, run_amps=2
            )
        )
    # The cheapest Argon2 cost: the api's own logins are not what this test is about.
    passwords = Passwords(PasswordCost(memory_kib=8, passes=1, lanes=1))
    with Session(engine) as session, session.begin():
        a = issue_credentials(session, passwords=passwords, site=NORD, gateway="gw-a", now=NOW)
        b = issue_credentials(session, passwords=passwords, site=NORD, gateway="gw-b", now=NOW)
    return (a.username, a.password), (b.username, b.password)


@pytest.fixture
def floor(tmp_path: Path) -> Iterator[Floor]:
    """A registry of two gateways on one site, and a Mosquitto run with the generated files."""
    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    try:
        gateway_a, gateway_b = _register(engine)
        files = broker_files(engine, ingest=INGEST, api=API)
    finally:
        engine.dispose()
    assert files.without_login == (f"{SUD}/gw-c",)
    write_broker_files(files, password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    broker = MosquittoServer(workdir=tmp_path / "broker", acl=(tmp_path / "acl").read_text())
    config = broker.config_path.read_text().replace("allow_anonymous true", "allow_anonymous false")
    broker.config_path.write_text(config + f"password_file {tmp_path / 'passwd'}\n")
    broker.start()
    try:
        yield Floor(broker, gateway_a, gateway_b)
    finally:
        broker.stop()


def topic(machine: str, kind: TopicKind, site: str = NORD) -> str:
    """A machine topic."""
    return str(MachineTopic(site, machine, kind))


def test_gateway_a_cannot_publish_on_gateway_bs_machines(floor: Floor) -> None:
    with floor.client(INGEST) as ingest, floor.client(floor.gateway_a) as gateway_a:
        ingest.subscribe("officina/v1/#")
        gateway_a.publish(topic("mill-1", TopicKind.TELEMETRY), b"forged")
        gateway_a.publish(topic("lathe-1", TopicKind.TELEMETRY), b"own")
        # One client's messages arrive in order: the first one delivered is the own one.
        first = ingest.receive()
    assert (first.topic, first.payload) == (topic("lathe-1", TopicKind.TELEMETRY), b"own")


def test_a_gateway_cannot_read_other_gateways_or_other_sites(floor: Floor) -> None:
    with floor.client(API) as api, floor.client(floor.gateway_a) as gateway_a:
        for other in (f"officina/v1/{SUD}/#", topic("mill-1", TopicKind.COMMANDS)):
            # Refused outright is as good as never delivered.
            with contextlib.suppress(MqttProbeError):
                gateway_a.subscribe(other)
        gateway_a.subscribe(topic("lathe-1", TopicKind.COMMANDS))
        api.publish(topic("laser-1", TopicKind.COMMANDS, site=SUD), b"other site")
        api.publish(topic("mill-1", TopicKind.COMMANDS), b"other gateway")
        api.publish(topic("lathe-1", TopicKind.COMMANDS), b"mine")
        first = gateway_a.receive()
    assert first.payload == b"mine"


def test_ingest_reads_every_site_and_the_gateways_status(floor: Floor) -> None:
    with (
        floor.client(INGEST) as ingest,
        floor.client(floor.gateway_a) as gateway_a,
        floor.client(floor.gateway_b) as gateway_b,
    ):
        ingest.subscribe("officina/v1/#")
        gateway_a.publish(str(GatewayTopic(NORD, "gw-a")), b"online", retain=True)
        gateway_a.publish(topic("lathe-1", TopicKind.SESSIONS), b"session")
        gateway_b.publish(topic("mill-1", TopicKind.BADGES), b"badge")
        got = {ingest.receive().topic for _ in range(3)}
    assert got == {
        str(GatewayTopic(NORD, "gw-a")),
        topic("lathe-1", TopicKind.SESSIONS),
        topic("mill-1", TopicKind.BADGES),
    }


def test_the_api_sends_access_lists_and_reads_state_and_status(floor: Floor) -> None:
    with floor.client(API) as api, floor.client(floor.gateway_b) as gateway_b:
        api.subscribe(MachineTopic.filter(kind=TopicKind.STATE))
        api.subscribe(GatewayTopic.filter())
        gateway_b.subscribe(topic("mill-1", TopicKind.ACL))
        api.publish(topic("mill-1", TopicKind.ACL), b"access list", retain=True)
        assert gateway_b.receive().payload == b"access list"
        gateway_b.publish(topic("mill-1", TopicKind.STATE), b"running", retain=True)
        gateway_b.publish(str(GatewayTopic(NORD, "gw-b")), b"online", retain=True)
        got = {(m.topic, m.payload) for m in (api.receive(), api.receive())}
    assert got == {
        (topic("mill-1", TopicKind.STATE), b"running"),
        (str(GatewayTopic(NORD, "gw-b")), b"online"),
    }


def test_the_api_cannot_pose_as_a_gateway(floor: Floor) -> None:
    with floor.client(INGEST) as ingest, floor.client(API) as api:
        ingest.subscribe("officina/v1/#")
        api.publish(topic("lathe-1", TopicKind.SESSIONS), b"forged session")
        api.publish(topic("lathe-1", TopicKind.COMMANDS), b"lock")
        first = ingest.receive()
    assert first.payload == b"lock"


def test_without_a_login_the_broker_refuses(floor: Floor) -> None:
    with pytest.raises(MqttProbeError, match="refused"):
        floor.client(None)
    with pytest.raises(MqttProbeError, match="refused"):
        floor.client((floor.gateway_a[0], "wrong password"))


def test_a_short_service_password_is_refused_naming_the_user() -> None:
    with pytest.raises(BrokerAclError, match="password of ingest"):
        ServiceLogin(username="ingest", password="short")


def test_machines_of_a_gateway_without_a_login_get_no_rights(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    try:
        _register(engine)
        files = broker_files(engine, ingest=INGEST, api=API)
    finally:
        engine.dispose()
    assert files.gateways == (f"{NORD}/gw-a", f"{NORD}/gw-b")
    assert "laser-1" not in files.acl
    assert [line.split(":")[0] for line in files.passwords.splitlines()] == [
        "ingest",
        "api",
        "gateway-gw-a",
        "gateway-gw-b",
    ]


def test_the_api_may_republish_a_machines_retained_state_to_erase_a_member(floor: Floor) -> None:
    with floor.client(API) as api, floor.client(INGEST) as ingest:
        api.publish(topic("mill-1", TopicKind.STATE), b"running, member erased", retain=True)
        ingest.subscribe(topic("mill-1", TopicKind.STATE))
        retained = ingest.receive()
    assert (retained.payload, retained.retain) == (b"running, member erased", True)


def config_topic(gateway: str) -> str:
    """A gateway's retained config topic."""
    return str(GatewayTopic(NORD, gateway, TopicKind.CONFIG))


def test_only_the_api_writes_a_gateways_config_and_only_that_gateway_reads_it(
    floor: Floor,
) -> None:
    with (
        floor.client(API) as api,
        floor.client(floor.gateway_a) as gateway_a,
        floor.client(floor.gateway_b) as gateway_b,
    ):
        # Refused outright is as good as never delivered.
        with contextlib.suppress(MqttProbeError):
            gateway_b.subscribe(config_topic("gw-a"))
        gateway_b.subscribe(config_topic("gw-b"))
        gateway_a.subscribe(config_topic("gw-a"))
        gateway_b.publish(config_topic("gw-a"), b"forged by gw-b", retain=True)
        gateway_a.publish(config_topic("gw-a"), b"forged by gw-a itself", retain=True)
        api.publish(config_topic("gw-a"), b"policy of gw-a", retain=True)
        api.publish(config_topic("gw-b"), b"policy of gw-b", retain=True)
        assert gateway_a.receive().payload == b"policy of gw-a"
        assert gateway_b.receive().payload == b"policy of gw-b"
    with floor.client(floor.gateway_a) as late:
        late.subscribe(config_topic("gw-a"))
        retained = late.receive()
    assert (retained.payload, retained.retain) == (b"policy of gw-a", True)
