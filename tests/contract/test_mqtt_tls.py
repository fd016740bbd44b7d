"""Gateway, ingest, api and watcher each talk to a real Mosquitto over its TLS listener."""

from __future__ import annotations

import queue
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from contract import (
    GatewayStatus,
    GatewayStatusValue,
    GatewayTopic,
    MachineState,
    MachineTopic,
    Message,
    TopicKind,
    decode_payload,
    encode_payload,
)
from contract.mqtt import (
    BrokerOptions,
    MqttProtocol,
    MqttTrustError,
    make_client,
)
from gateway.link import GatewayLink, LinkOptions
from gateway.spool import Spool
from harness.certificates import Certificate, CertificateAuthority, make_ca
from harness.mosquitto import MosquittoServer, TlsListener
from harness.mqtt import MqttProbe
from harness.plugin import MosquittoFactory
from harness.ports import poll_until
from officina.watch import FloorWatcher
from services.api.broker import BrokerLink
from services.ingest import Ingest, NotConnectedError
from tests.api.conftest import make_settings
from tests.ingest.examples import SITE, session_record, state_change, topic
from tests.ingest.running import ingest_settings

WAIT_S = 10.0
GATEWAY = "gw-tls"


@dataclass(frozen=True, slots=True)
class Certificates:
    """The test's CA with the broker's and a client's certificates, and an unrelated CA."""

    ca: CertificateAuthority
    broker: Certificate
    client: Certificate
    stranger_ca: CertificateAuthority


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """Made once for the module with the openssl command."""
    ca = make_ca(tmp_path_factory.mktemp("ca"))
    stranger = make_ca(tmp_path_factory.mktemp("stranger-ca"), name="someone-elses-ca")
    return Certificates(ca, ca.server(), ca.client("officina-ingest"), stranger)


def _listener(certificates: Certificates, *, require_certificate: bool) -> TlsListener:
    return TlsListener(
        ca_file=certificates.ca.cert_file,
        cert_file=certificates.broker.cert_file,
        key_file=certificates.broker.key_file,
        require_certificate=require_certificate,
    )


@pytest.fixture
def broker(mosquitto_factory: MosquittoFactory, certificates: Certificates) -> MosquittoServer:
    """A broker with a plain listener (for the test's probe) and a TLS one (for the parts)."""
    return mosquitto_factory(tls=_listener(certificates, require_certificate=False))


@pytest.fixture
def probe(broker: MosquittoServer) -> Iterator[MqttProbe]:
    """The test's own client, on the plain listener."""
    with MqttProbe(host=broker.host, port=broker.port) as client:
        yield client


def _gateway_link(options: BrokerOptions, tmp_path: Path) -> GatewayLink:
    return GatewayLink(
        LinkOptions(
            site=SITE,
            gateway=GATEWAY,
            machines=("lathe-1",),
            broker=options,
            software_version="test",
        ),
        spool=Spool(tmp_path / "spool.db"),
        deliver=lambda message: None,
        wall_ms=lambda: 1_760_000_000_000,
    )


def test_gateway_says_online_over_tls(
    broker: MosquittoServer, probe: MqttProbe, tmp_path: Path
) -> None:
    probe.subscribe(str(GatewayTopic(SITE, GATEWAY)))

    with _gateway_link(broker.tls_options(), tmp_path) as link:
        assert link.wait_connected(WAIT_S)
        received = probe.receive(WAIT_S)

    status = decode_payload(TopicKind.STATUS, received.payload)
    assert isinstance(status, GatewayStatus)
    assert status.status is GatewayStatusValue.ONLINE


def test_ingest_books_a_session_over_tls(
    broker: MosquittoServer, probe: MqttProbe, sqlite_url: str
) -> None:
    tls = broker.tls_options(client_id=f"ingest-{uuid.uuid4().hex[:8]}", protocol=MqttProtocol.V5)
    record = session_record()

    with Ingest(replace(ingest_settings(broker, sqlite_url), broker=tls)) as ingest:
        ingest.wait_connected(WAIT_S)
        probe.publish(topic(TopicKind.SESSIONS), encode_payload(record))
        assert ingest.wait_for_count("sessions_booked", 1, WAIT_S)
        assert [booked.id for booked in ingest.ledger.sessions()] == [record.id]


def test_api_follows_and_publishes_over_tls(
    broker: MosquittoServer, probe: MqttProbe, sqlite_url: str
) -> None:
    heard: queue.Queue[Message] = queue.Queue()
    settings = replace(make_settings(sqlite_url, broker, SITE), broker=broker.tls_options())
    link = BrokerLink(settings)
    link.follow(MachineTopic.filter(SITE, "+", TopicKind.STATE), heard.put)
    probe.subscribe(topic(TopicKind.COMMANDS))

    with link:
        assert link.wait_connected(WAIT_S)
        idle = state_change(MachineState.IDLE, since=1)
        probe.publish(topic(TopicKind.STATE), encode_payload(idle))
        link.publish(topic(TopicKind.COMMANDS), b"{}", retain=False)
        assert heard.get(timeout=WAIT_S).payload.kind is TopicKind.STATE
        assert probe.receive(WAIT_S).topic == topic(TopicKind.COMMANDS)


def test_watcher_sees_the_floor_over_tls(broker: MosquittoServer, probe: MqttProbe) -> None:
    with FloorWatcher(broker=broker.tls_options(), site=SITE) as watcher:
        assert watcher.wait_subscribed(WAIT_S)
        probe.publish(
            topic(TopicKind.STATE), encode_payload(state_change(MachineState.RUNNING, since=5))
        )
        probe.publish(topic(TopicKind.SESSIONS), encode_payload(session_record()))

        poll_until(lambda: watcher.sessions_published == 1, timeout=WAIT_S, what="session seen")
        [lathe] = watcher.machines()
    assert lathe.state is MachineState.RUNNING


def test_a_client_certificate_gets_past_a_broker_that_requires_one(
    mosquitto_factory: MosquittoFactory, certificates: Certificates, tmp_path: Path
) -> None:
    strict = mosquitto_factory(tls=_listener(certificates, require_certificate=True))
    with_certificate = strict.tls_options(
        cert_file=certificates.client.cert_file, key_file=certificates.client.key_file
    )

    with _gateway_link(with_certificate, tmp_path / "with") as link:
        assert link.wait_connected(WAIT_S)
    with _gateway_link(strict.tls_options(), tmp_path / "without") as link:
        assert not link.wait_connected(2.0)


def test_a_broker_signed_by_another_ca_is_refused_saying_it_was_not_trusted(
    broker: MosquittoServer, certificates: Certificates
) -> None:
    wrong = broker.tls_options(ca_file=certificates.stranger_ca.cert_file)
    client = make_client(wrong, fallback_client_id="wrong-ca")

    with pytest.raises(MqttTrustError) as refused:
        client.connect_now()

    assert "certificate was not trusted" in str(refused.value)
    assert str(certificates.stranger_ca.cert_file) in str(refused.value)


def test_ingest_with_the_wrong_ca_says_why_it_is_not_connected(
    broker: MosquittoServer, certificates: Certificates, sqlite_url: str
) -> None:
    wrong = broker.tls_options(
        ca_file=certificates.stranger_ca.cert_file,
        client_id=f"ingest-{uuid.uuid4().hex[:8]}",
        protocol=MqttProtocol.V5,
    )
    with (
        Ingest(replace(ingest_settings(broker, sqlite_url), broker=wrong)) as ingest,
        pytest.raises(NotConnectedError) as refused,
    ):
        ingest.wait_connected(3.0)
    assert "certificate was not trusted" in str(refused.value)


def test_the_gateway_with_the_wrong_ca_keeps_why_it_is_not_connected(
    broker: MosquittoServer, certificates: Certificates, tmp_path: Path
) -> None:
    wrong = broker.tls_options(ca_file=certificates.stranger_ca.cert_file)
    with _gateway_link(wrong, tmp_path) as link:
        assert not link.wait_connected(2.0)
        assert isinstance(link.connect_error, MqttTrustError)
