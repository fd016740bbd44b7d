"""The api under test: a real ledger (SQLite, PostgreSQL) and a real Mosquitto; a site per test."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from contract import (
    AccessList,
    EndReason,
    MachineState,
    MachineTopic,
    SessionRecord,
    StateChange,
    TopicKind,
    decode_message,
    encode_payload,
)
from firmware_bridge.emulator import Emulator
from gateway.config import BrokerConfig, GatewayConfig, MachineConfig, SpoolConfig, mcu_roles
from gateway.daemon import Gateway
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from harness.ports import LOOPBACK, free_port
from services.api.accounts import add_user
from services.api.app import create_app
from services.api.security import PasswordCost, Role
from services.api.settings import ApiSettings
from services.api.state import ApiState, utc_now
from services.ledger import MachineSpec, SessionBook
from tests.waiting import eventually

SECRET = "test-secret-" + "x" * 40
SITE_KEY = "test-site-key-0123456789-long-enough"
PSEUDONYM_KEY = "test-pseudonym-key-0123456789-long-enough"
PASSWORD = "correct horse battery"
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Api:
    """A running api, its state, and ready-made logins for each role."""

    client: TestClient
    state: ApiState
    site: str

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        """Bearer headers for a user."""
        answer = self.client.post(
            "/api/v1/login", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        # The test client would send the cookie too: tests say which credential they use.
        self.client.cookies.clear()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def add_login(self, username: str, role: Role, *, member: str | None = None) -> dict[str, str]:
        """Create a login directly in the ledger and return its bearer headers."""
        with self.state.open_db() as db:
            add_user(
                db,
                passwords=self.state.passwords,
                username=username,
                password=PASSWORD,
                role=role,
                member=member,
                gateway="gw-1" if role is Role.GATEWAY else None,
                now=utc_now(),
            )
            db.commit()
        return self.login(username)


def make_settings(
    ledger_url: str, broker: MosquittoServer, site: str, **overrides: object
) -> ApiSettings:
    """Settings for an api on the test's ledger and broker."""
    options: dict[str, object] = {
        "site": site,
        "ledger_url": ledger_url,
        "broker": broker.options(client_id=f"api-{site}"),
        "secret": SECRET,
        "site_key": SITE_KEY,
        "pseudonym_key": PSEUDONYM_KEY,
        "amps_every_s": 0.2,
        # Cheap hashing for tests; production keeps Argon2id's full cost.
        "password_cost": PasswordCost(memory_kib=1024, passes=1, lanes=1),
        # The test client and Chromium reach the api over plain http.
        "cookie_secure": False,
    }
    options.update(overrides)
    return ApiSettings(**options)  # type: ignore[arg-type]


@pytest.fixture
def site() -> str:
    """A site of the test's own, so retained messages of other tests never reach it."""
    return f"site-{secrets.token_hex(4)}"


def running_api(settings: ApiSettings, *, clock: Callable[[], datetime] = utc_now) -> Iterator[Api]:
    """Start the app (lifespan included) and wait until it follows the broker."""
    with TestClient(create_app(settings, clock=clock)) as client:
        state: ApiState = client.app.state.api  # type: ignore[attr-defined]
        assert state.link.wait_connected(CONNECT_TIMEOUT_S), "api never connected to the broker"
        yield Api(client=client, state=state, site=settings.site)


@pytest.fixture
def api(ledger_url: str, mosquitto: MosquittoServer, site: str) -> Iterator[Api]:
    """The api on SQLite and on PostgreSQL."""
    yield from running_api(make_settings(ledger_url, mosquitto, site))


@pytest.fixture
def sqlite_api(sqlite_url: str, mosquitto: MosquittoServer, site: str) -> Iterator[Api]:
    """The api on SQLite only, for the long route-by-route checks."""
    yield from running_api(make_settings(sqlite_url, mosquitto, site))


def seed_registry(api: Api) -> None:
    """Two members, two machines on one gateway."""
    seed_registry_of(api.state, api.site)


def seed_registry_of(state: ApiState, site: str) -> None:
    """Two members, two machines on one gateway, in the api's ledger."""
    registry = state.registry
    registry.add_member(member_id="giulia", name="Giulia Rossi", email="giulia@example.org")
    registry.add_member(member_id="marco", name="Marco Bianchi")
    for machine, name in (("lathe-1", "Tornio"), ("laser-1", "Laser")):
        registry.save_machine(
            MachineSpec(
                site=site, id=machine, name=name, gateway="gw-1", idle_amps=0.8, run_amps=4.0
            )
        )


@pytest.fixture
def acl_probe(mosquitto: MosquittoServer, site: str) -> Iterator[MqttProbe]:
    """A client reading the access lists the api publishes for the test's site."""
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        probe.subscribe(MachineTopic.filter(site, "+", TopicKind.ACL))
        yield probe


def next_acl(
    probe: MqttProbe, machine: str, wanted: Callable[[AccessList], bool], *, timeout: float = 5.0
) -> AccessList:
    """The first access list of a machine that the broker delivers and `wanted` accepts."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no access list of {machine} as wanted within {timeout:g} s")
        received = probe.receive(timeout=left)
        message = decode_message(received.topic, received.payload)
        payload = message.payload
        if (
            isinstance(message.topic, MachineTopic)
            and message.topic.machine == machine
            and isinstance(payload, AccessList)
            and wanted(payload)
        ):
            assert received.retain or received.qos == 1
            return payload


@dataclass(frozen=True)
class ServedApi:
    """The api behind a real HTTP server on a free loopback port."""

    url: str
    state: ApiState
    site: str


class MovableClock:
    """The api's clock in a test: the real time, plus however far the test moved it on.

    Only the api's own sense of "now" moves (token expiry, billing's run log, the pages' today);
    the gateways and the broker keep real time, so what they stamp stays true.
    """

    def __init__(self) -> None:
        self._ahead = timedelta(0)

    def __call__(self) -> datetime:
        """Now, as the api sees it."""
        return utc_now() + self._ahead

    def move_to(self, instant: datetime) -> None:
        """From here on the api's now runs on from `instant`."""
        self._ahead = instant - utc_now()


@contextmanager
def served_api(
    settings: ApiSettings, *, clock: Callable[[], datetime] = utc_now
) -> Iterator[ServedApi]:
    """Run the api under uvicorn in a thread, as `officina api run` does."""
    app = create_app(settings, clock=clock)
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=free_port(),
        log_level="warning",
        timeout_graceful_shutdown=2,
        # As `officina api run`: the app, not uvicorn, decides whose X-Forwarded-For counts.
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        eventually(lambda: server.started, timeout=CONNECT_TIMEOUT_S, what="uvicorn to start")
        state: ApiState = app.state.api
        assert state.link.wait_connected(CONNECT_TIMEOUT_S)
        yield ServedApi(url=f"http://{LOOPBACK}:{config.port}", state=state, site=settings.site)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def add_login_directly(
    state: ApiState, username: str, role: Role, *, member: str | None = None
) -> None:
    """Create a login straight in the ledger."""
    with state.open_db() as db:
        add_user(
            db,
            passwords=state.passwords,
            username=username,
            password=PASSWORD,
            role=role,
            member=member,
            now=utc_now(),
        )
        db.commit()


def state_change(
    state: MachineState, *, member: str | None = None, since_ms: int | None = None
) -> bytes:
    """A gateway's retained state message."""
    now = int(time.time() * 1000)
    payload = StateChange(
        id=f"state-{secrets.token_hex(4)}",
        ts=now,
        state=state,
        member=member,
        session=str(uuid.uuid4()) if member else None,
        since=since_ms if since_ms is not None else now,
    )
    return encode_payload(payload)


def publish_state(
    broker: MosquittoServer, site: str, machine: str, state: MachineState, member: str | None = None
) -> None:
    """Publish a machine's state the way its gateway does: retained, QoS 1."""
    with MqttProbe(host=broker.host, port=broker.port) as gateway:
        topic = str(MachineTopic(site, machine, TopicKind.STATE))
        gateway.publish(topic, state_change(state, member=member), retain=True)


def book_session(
    state: ApiState,
    *,
    member: str,
    machine: str,
    started: datetime,
    minutes: float,
    energy_wh: float = 120.0,
    card: str = "cd" * 32,
) -> str:
    """Book a closed session as ingest would (badged with `card`); returns its id."""
    started_ms = int(started.timestamp() * 1000)
    record = SessionRecord(
        id=str(uuid.uuid4()),
        ts=started_ms + int(minutes * 60_000),
        machine=machine,
        member=member,
        card=card,
        started=started_ms,
        ended=started_ms + int(minutes * 60_000),
        unlocked_s=minutes * 60,
        running_s=minutes * 40,
        idle_s=minutes * 20,
        energy_wh=energy_wh,
        end_reason=EndReason.BADGE_OUT,
        clock_ok=True,
    )
    SessionBook(state.engine).book_session(state.settings.site, record)
    return record.id


@contextmanager
def emulated_gateway(
    broker: MosquittoServer,
    site: str,
    spool: Path,
    *,
    machine: str = "lathe-1",
    offline: bool = False,
) -> Iterator[tuple[Emulator, Gateway]]:
    """A real gateway daemon on an emulated MCU (a fake board, real firmware protocol);
    `offline`: pointed at a port nobody listens on, as with the broker down."""
    url = f"mqtt://{LOOPBACK}:{free_port()}" if offline else f"mqtt://{broker.host}:{broker.port}"
    with Emulator("lathe", sample_period_s=0.2, seed=5) as emulator:
        config = GatewayConfig(
            site=site,
            gateway="gw-1",
            site_key=SITE_KEY,
            broker=BrokerConfig(url=url),
            spool=SpoolConfig(path=spool),
            machines=(
                MachineConfig(
                    id=machine,
                    **mcu_roles(emulator.port),
                    idle_amps=0.8,
                    run_amps=4.0,
                    hysteresis_amps=0.3,
                    min_dwell_s=0.3,
                    telemetry_interval_s=0.2,
                ),
            ),
        )
        with Gateway(config) as gateway:
            assert offline or gateway.link.wait_connected(CONNECT_TIMEOUT_S)
            eventually(
                lambda: gateway.counters.get(f"{machine}.samples", 0) > 0,
                what="the gateway to read the machine's sensor",
            )
            yield emulator, gateway


@pytest.fixture
def clock() -> MovableClock:
    """The api's clock, moved by the test that asks for it."""
    return MovableClock()


@pytest.fixture
def shop(
    ledger_url: str, mosquitto: MosquittoServer, site: str, clock: MovableClock
) -> Iterator[Api]:
    """The api on SQLite and PostgreSQL, on a clock the test moves."""
    yield from running_api(make_settings(ledger_url, mosquitto, site), clock=clock)
