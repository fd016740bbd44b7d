"""Each gateway has its own broker credentials, and the broker's ACL keeps it to its own topics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.mqtt import MqttProtocol
from firmware_bridge.emulator import Emulator
from gateway.config import (
    AccessConfig,
    BrokerConfig,
    GatewayConfig,
    MachineConfig,
    SpoolConfig,
    mcu_roles,
)
from gateway.daemon import Gateway
from harness.mosquitto import MosquittoServer
from harness.plugin import MosquittoFactory
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings
from tests.gateway.test_resilience import CARD, KEY, SITE, work
from tests.waiting import eventually

ACL = f"""
user ingest
topic read officina/v1/#

user gw-a
topic write officina/v1/{SITE}/machines/lathe-1/#
topic read officina/v1/{SITE}/machines/lathe-1/acl
topic read officina/v1/{SITE}/machines/lathe-1/commands
topic readwrite officina/v1/{SITE}/gateways/gw-a/status
"""


@pytest.fixture
def broker(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    return mosquitto_factory(users={"gw-a": "gw-a-secret", "ingest": "ingest-secret"}, acl=ACL)


@pytest.fixture
def ingest(broker: MosquittoServer, sqlite_url: str) -> Iterator[Ingest]:
    settings = IngestSettings(
        broker=broker.options(
            username="ingest",
            password="ingest-secret",
            client_id="ingest-cred",
            protocol=MqttProtocol.V5,
        ),
        ledger_url=sqlite_url,
    )
    with Ingest(settings) as running:
        running.wait_connected(10)
        yield running


def gateway(emulator: Emulator, broker: MosquittoServer, tmp: Path, password: str) -> Gateway:
    return Gateway(
        GatewayConfig(
            site=SITE,
            gateway="gw-a",
            site_key=KEY,
            broker=BrokerConfig(
                url=f"mqtt://{broker.host}:{broker.port}", username="gw-a", password=password
            ),
            spool=SpoolConfig(path=tmp / "spool.db"),
            machines=(
                MachineConfig(
                    id="lathe-1",
                    idle_amps=0.8,
                    run_amps=4.0,
                    min_dwell_s=0.5,
                    **mcu_roles(emulator.port),
                ),
            ),
            access=(AccessConfig(card=CARD, member="giulia"),),
        )
    )


def test_a_gateway_with_its_own_credentials_books_its_sessions(
    broker: MosquittoServer, ingest: Ingest, tmp_path: Path
) -> None:
    with (
        Emulator("lathe", sample_period_s=0.2, seed=4) as board,
        gateway(board, broker, tmp_path, "gw-a-secret") as gw,
    ):
        assert gw.link.wait_connected(10)
        eventually(lambda: gw.counters.get("lathe-1.samples", 0) > 0)
        work(board, running_s=0.6)
        eventually(lambda: len(ingest.ledger.sessions()) == 1, what="the session booked")
        assert ingest.counters.get("gateway_status", 0) >= 1


def test_a_wrong_password_is_refused_and_the_session_waits_in_the_spool(
    broker: MosquittoServer, ingest: Ingest, tmp_path: Path
) -> None:
    with (
        Emulator("lathe", sample_period_s=0.2, seed=4) as board,
        gateway(board, broker, tmp_path, "not-the-password") as gw,
    ):
        eventually(lambda: gw.counters.get("link.connect_refused", 0) > 0, what="a refusal")
        eventually(lambda: gw.counters.get("lathe-1.samples", 0) > 0)
        work(board, running_s=0.6)
        eventually(lambda: gw.counters.get("link.spooled.sessions", 0) == 1)
        assert not gw.link.wait_connected(0.5)
        assert gw.spool.backlog() > 0
    assert ingest.ledger.sessions() == []
