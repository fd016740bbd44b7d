"""15.1: a broker login cannot take over another client's id, session or queued messages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from contract import TopicKind, encode_payload
from contract.mqtt import MqttProtocol
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.gateways import issue_credentials
from services.api.security import PasswordCost, Passwords
from services.ingest import Ingest, IngestSettings
from services.ledger import MachineSpec, Registry, open_ledger
from services.ops import ServiceLogin, broker_files, write_broker_files
from tests.ingest.examples import MACHINE, SITE, session_record, topic
from tests.ingest.running import ingest_settings
from tests.security.conftest import AttackLog

DEPLOYED_CONF = Path(__file__).parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INGEST = ServiceLogin(username="officina-ingest", password="ingest-password-1")
API = ServiceLogin(username="officina-api", password="api-password-12345")
WAIT_S = 10.0
SESSIONS = 5


@dataclass(frozen=True, slots=True)
class Floor:
    """A broker run as deployed, the gateways' logins, and ingest's settings on it."""

    broker: MosquittoServer
    gateway: tuple[str, str]
    intruder: tuple[str, str]
    ingest: IngestSettings

    def client(self, login: tuple[str, str], *, client_id: str | None = None) -> MqttProbe:
        """A client with this login, asking for this client id."""
        username, password = login
        return MqttProbe(
            host=self.broker.host,
            port=self.broker.port,
            username=username,
            password=password,
            client_id=client_id,
        )


@pytest.fixture
def floor(tmp_path: Path) -> Iterator[Floor]:
    """Two gateways' logins issued by the api; Mosquitto run with the generated files."""
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = open_ledger(ledger_url)
    try:
        registry = Registry(engine)
        for machine, gateway in ((MACHINE, "gw-a"), ("mill-1", "gw-b")):
            registry.save_machine(
                MachineSpec(
                    site=SITE, id=machine, name=machine, gateway=gateway, idle_amps=0.5, run_amps=2
                )
            )
        passwords = Passwords(PasswordCost(memory_kib=8, passes=1, lanes=1))
        with Session(engine) as db, db.begin():
            a = issue_credentials(db, passwords=passwords, site=SITE, gateway="gw-a", now=NOW)
            b = issue_credentials(db, passwords=passwords, site=SITE, gateway="gw-b", now=NOW)
        files = broker_files(engine, ingest=INGEST, api=API)
    finally:
        engine.dispose()
    write_broker_files(files, password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    broker = MosquittoServer(
        workdir=tmp_path / "broker", acl=(tmp_path / "acl").read_text(), bind_client_ids=True
    )
    config = broker.config_path.read_text().replace("allow_anonymous true", "allow_anonymous false")
    broker.config_path.write_text(config + f"password_file {tmp_path / 'passwd'}\n")
    broker.start()
    # Ingest as deployed: its login names it, and its session outlives a restart.
    options = broker.options(
        username=INGEST.username, password=INGEST.password, protocol=MqttProtocol.V5
    )
    settings = replace(ingest_settings(broker, ledger_url), broker=options)
    try:
        yield Floor(broker, (a.username, a.password), (b.username, b.password), settings)
    finally:
        broker.stop()


def _publish_sessions(floor: Floor, count: int) -> list[str]:
    records = [session_record() for _ in range(count)]
    with floor.client(floor.gateway) as gateway:
        for record in records:
            gateway.publish(topic(TopicKind.SESSIONS), encode_payload(record))
    return [record.id for record in records]


def test_the_deployed_broker_binds_client_ids_to_logins() -> None:
    directives = DEPLOYED_CONF.read_text().splitlines()

    assert "use_username_as_clientid true" in directives


def test_ingest_connects_with_its_own_login_as_its_client_id(floor: Floor) -> None:
    assert floor.ingest.client_id == INGEST.username


def test_another_login_with_ingests_client_id_does_not_kick_ingest_off(
    floor: Floor, attack: AttackLog
) -> None:
    attack.tried(
        "15.1 MQTT identity",
        "a gateway's login connected with ingest's client id while ingest was connected",
    )
    with Ingest(floor.ingest) as ingest:
        ingest.wait_connected(WAIT_S)
        with floor.client(floor.intruder, client_id=floor.ingest.client_id):
            published = _publish_sessions(floor, SESSIONS)
            assert ingest.wait_for_count("sessions_booked", SESSIONS, WAIT_S)
        booked = sorted(s.id for s in ingest.ledger.sessions())

    assert booked == sorted(published)
    assert f"Client {INGEST.username} already connected" not in floor.broker.log_tail(400)
    attack.held("ingest stayed connected and booked every session published meanwhile")


def test_another_login_cannot_take_over_ingests_queued_session(
    floor: Floor, attack: AttackLog
) -> None:
    attack.tried(
        "15.1 MQTT identity",
        "while ingest was away, a gateway's login connected with ingest's client id and a clean "
        "session, to discard the sessions queued for ingest",
    )
    with Ingest(floor.ingest) as ingest:
        ingest.wait_connected(WAIT_S)  # makes ingest's persistent session on the broker
    queued = _publish_sessions(floor, SESSIONS)
    with floor.client(floor.intruder, client_id=floor.ingest.client_id) as intruder:
        intruder.subscribe("officina/v1/#")
    more = _publish_sessions(floor, SESSIONS)

    with Ingest(floor.ingest) as ingest:
        ingest.wait_connected(WAIT_S)
        assert ingest.wait_for_count("sessions_booked", 2 * SESSIONS, WAIT_S)
        booked = sorted(s.id for s in ingest.ledger.sessions())

    assert booked == sorted(queued + more)
    attack.held("the broker gave the intruder its own id; ingest booked every queued session")
