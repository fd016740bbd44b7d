"""A member whose plan requires credit, refused by a real gateway process once it is spent.

Everything runs for real: Mosquitto, the api served over HTTP (it publishes each access list
with what her credit buys at the machine), ingest booking the sessions into a SQLite ledger, and
`officina gateway run` started with its gateway.toml; the board is emulated on a pseudo-terminal.
Her credit runs out first with the broker up; after a top-up over the api, it runs out again
with the broker stopped: the gateway counts the session it closed itself, and still refuses her
after it is restarted with the broker away (what it took off is kept in its spool).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import (
    AccessList,
    Badge,
    BadgeDecision,
    MachineTopic,
    TopicKind,
    card_hash,
    decode_message,
)
from contract.mqtt import MqttProtocol
from firmware_bridge.emulator import Emulator
from firmware_bridge.profiles import Load
from harness.mosquitto import MosquittoServer, start_mosquitto
from services.api.floor import RefusedCard
from services.api.security import Role
from services.billing.money import round_half_up
from services.billing.tariffs import Plan, Tariff
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings
from services.ledger import MachineSpec, SessionBook
from tests.api.conftest import (
    PASSWORD,
    SITE_KEY,
    ServedApi,
    add_login_directly,
    make_settings,
    served_api,
)
from tests.waiting import eventually

SITE = "officine-credito"
MACHINE, GATEWAY = "laser-1", "gw-credit"
CARD = "04A1B2C3"
RUN_S = 2.5  # running seconds of each use: about 2 cents at 0.50 € a running minute


class AclWatch:
    """Keeps the access lists the api publishes for the laser, and the gateway's refusals."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.lists: list[AccessList] = []
        self.refusals: list[str] = []
        self._subscribed = threading.Event()
        # A persistent session: what the gateway sends while this client is away still arrives.
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="credit-watch", clean_session=False
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(
            [
                (MachineTopic.filter(SITE, MACHINE, TopicKind.ACL), 1),
                (MachineTopic.filter(SITE, MACHINE, TopicKind.BADGES), 1),
            ]
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        payload = decode_message(msg.topic, bytes(msg.payload)).payload
        if isinstance(payload, AccessList):
            self.lists.append(payload)
        elif isinstance(payload, Badge) and payload.decision is BadgeDecision.DENIED:
            self.refusals.append(payload.reason)

    def credit(self) -> tuple[int, float | None, int | None] | None:
        """The latest list's version, and her entry's credit and when it was counted to."""
        if not self.lists or not self.lists[-1].entries:
            return None
        latest = self.lists[-1]
        entry = latest.entries[0]
        return latest.version, entry.credit_s, entry.credit_until

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _gateway_toml(path: Path, broker: MosquittoServer, port: str, spool: Path) -> None:
    path.write_text(
        f'site = "{SITE}"\n'
        f'gateway = "{GATEWAY}"\n'
        f'site_key = "{SITE_KEY}"\n'
        "[broker]\n"
        f'url = "mqtt://{broker.host}:{broker.port}"\n'
        "[spool]\n"
        f'path = "{spool}"\n'
        "[[machines]]\n"
        f'id = "{MACHINE}"\n'
        f'mcu = {{ port = "{port}" }}\n'
        "idle_amps = 0.8\n"
        "run_amps = 2.6\n"
        "min_dwell_s = 0.5\n",
        encoding="utf-8",
    )


@contextmanager
def _gateway_process(config: Path, log: Path) -> Iterator[None]:
    """`officina gateway run`, as its systemd unit starts and stops it."""
    command = [sys.executable, "-m", "officina", "--log-level", "info", "gateway", "run"]
    command += ["--config", str(config)]
    with log.open("w") as output:
        gateway = subprocess.Popen(
            command, env=os.environ | {"PYTHONUNBUFFERED": "1"}, stdout=output, stderr=output
        )
    try:
        yield
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(15)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
            raise


def _seed(api: ServedApi) -> None:
    """Giulia on a plan that requires credit, qualified on the laser at 0.50 € a running minute."""
    state = api.state
    state.registry.add_member(member_id="giulia", name="Giulia Rossi")
    state.registry.save_machine(
        MachineSpec(
            site=SITE, id=MACHINE, name="Laser", gateway=GATEWAY, idle_amps=0.8, run_amps=2.6
        )
    )
    state.registry.add_card(
        site=SITE, card_hash=card_hash(CARD, SITE_KEY.encode()), member="giulia"
    )
    ledger = state.billing.ledger
    ledger.add_tariff(
        Tariff(valid_from=date(2026, 1, 1), site=SITE, machine=MACHINE, per_running_minute=500_000)
    )
    ledger.save_plan(Plan(name="prepaid", requires_credit=True))
    ledger.assign_plan("giulia", "prepaid", valid_from=date(2020, 1, 1))
    state.registry.qualify(member="giulia", site=SITE, machine=MACHINE)
    add_login_directly(state, "coord", Role.COORDINATOR)


def _top_up(api: ServedApi, cents: int) -> None:
    with httpx.Client(base_url=api.url) as client:
        login = client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
        token = login.json()["access_token"]
        answer = client.post(
            "/api/v1/members/giulia/credit/top-ups",
            json={"amount_cents": cents, "note": "contanti"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201, answer.text


def _use_the_laser(emulator: Emulator) -> None:
    """Badge in, run the laser past what her credit buys, badge out."""
    emulator.present_card(CARD)
    eventually(lambda: emulator.relay_energised, what="the relay to close for her")
    started = emulator.running_seconds
    emulator.set_load(Load.RUNNING)
    eventually(lambda: emulator.running_seconds - started >= RUN_S, what="the laser to run")
    emulator.set_load(Load.OFF)
    emulator.present_card(CARD)
    eventually(lambda: not emulator.relay_energised, what="the relay to open at badge-out")


def _taken(log: Path, watch: AclWatch, *, counted: bool) -> bool:
    """Whether the gateway has taken the latest list, with credit left, counted to a session
    or not."""
    credit = watch.credit()
    return (
        credit is not None
        and bool(credit[1])
        and (credit[2] is not None) is counted
        and f"access list v{credit[0]}," in log.read_text()
    )


def test_a_credit_required_member_is_refused_when_her_credit_runs_out_broker_up_and_down(
    tmp_path: Path,
) -> None:
    broker = start_mosquitto(workdir=tmp_path / "broker", persistence=True)
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = make_settings(ledger_url, broker, SITE)
    ingest_settings = IngestSettings(
        broker=broker.options(protocol=MqttProtocol.V5), ledger_url=ledger_url
    )
    config, log = tmp_path / "gateway.toml", tmp_path / "gateway.log"
    refusals: queue.Queue[RefusedCard] = queue.Queue()
    watch = AclWatch(broker)
    try:
        with (
            served_api(settings) as api,
            Ingest(ingest_settings) as ingest,
            Emulator("drill-press", sample_period_s=0.1, seed=11) as emulator,
        ):
            ingest.wait_connected(10)
            api.state.floor.listen_to_refusals(refusals.put)
            _seed(api)
            book = SessionBook(api.state.engine)
            # One cent buys 1.2 running seconds at 0.50 € a minute.
            _top_up(api, 1)
            _gateway_toml(config, broker, os.path.realpath(emulator.port), tmp_path / "spool.db")
            with _gateway_process(config, log):
                eventually(
                    lambda: _taken(log, watch, counted=False),
                    timeout=20,
                    what="her list at the gateway",
                )
                assert watch.credit() == (watch.lists[-1].version, 1.2, None)
                # Broker up: her session runs past her credit, is never cut, and is booked.
                _use_the_laser(emulator)
                eventually(lambda: len(book.sessions()) == 1, what="ingest to book the session")
                emulator.present_card(CARD)
                refused = refusals.get(timeout=10)
                assert (refused.machine, refused.reason) == (MACHINE, "no_credit")
                assert not emulator.relay_energised

                # She tops up what her booked session cost: one cent is left, 1.2 seconds, and
                # the list is counted to that session, so the gateway stops taking it off.
                [first] = book.sessions()
                cost = round_half_up(round(first.running_s * 1000) * 50, 60_000)
                _top_up(api, cost)
                eventually(lambda: _taken(log, watch, counted=True), what="the list after a top-up")
                assert watch.credit() == (
                    watch.lists[-1].version,
                    1.2,
                    int(first.ended.timestamp() * 1000),
                )
                broker.stop()
                eventually(
                    lambda: "lost the broker" in log.read_text(),
                    what="the gateway to notice the broker is away",
                )
                # Broker down: she is let in on the cached list, spends it, and is refused.
                _use_the_laser(emulator)
                emulator.present_card(CARD)
                eventually(
                    lambda: log.read_text().count("denied (no_credit)") == 2,
                    what="the gateway to refuse her offline",
                )
                assert not emulator.relay_energised

            # Restarted with the broker still away: what it took off is in its spool.
            restarted = tmp_path / "gateway-restarted.log"
            with _gateway_process(config, restarted):
                eventually(
                    lambda: "access list v" in restarted.read_text(),
                    what="the restarted gateway to read its stored list",
                )
                emulator.present_card(CARD)
                eventually(
                    lambda: "denied (no_credit)" in restarted.read_text(),
                    what="the restarted gateway to refuse her offline",
                )
                assert not emulator.relay_energised

                # The broker back: the offline session is booked and the refusals delivered.
                broker.start()
                eventually(
                    lambda: len(book.sessions()) == 2 and watch.refusals == ["no_credit"] * 3,
                    timeout=30,
                    what="the spooled session and refusals to arrive",
                )
    finally:
        watch.close()
        broker.stop()
