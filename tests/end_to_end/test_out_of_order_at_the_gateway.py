"""A machine past its critical service is refused at a real gateway until a coordinator signs it
off: members are told `out_of_order`, its staff may still run it for the repair.

Real parts throughout: Mosquitto, the api on a SQLite ledger, and `officina gateway run` as its
own process on the emulated board; the running hours come from a session booked in the ledger.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contract import Badge, MachineTopic, TopicKind, card_hash, decode_message
from firmware_bridge.emulator import Emulator
from harness.errors import MqttProbeError
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.security import Role
from services.ledger import MachineSpec
from tests.api.conftest import SITE_KEY, Api, book_session, make_settings, running_api
from tests.waiting import eventually

MACHINE = "lathe-1"
GATEWAY = "gw-service"
GIULIA_CARD = "04A1B2C3"
MARCO_CARD = "04CAFE01"


@contextmanager
def gateway_process(config: Path, log: Path) -> Iterator[None]:
    """`officina gateway run`, started and stopped as its systemd unit does."""
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


def gateway_toml(path: Path, *, site: str, broker: MosquittoServer, port: str) -> Path:
    """A gateway.toml with no cards of its own: the api's access list and config rule it."""
    path.write_text(
        f"""
site = "{site}"
gateway = "{GATEWAY}"
site_key = "{SITE_KEY}"

[broker]
url = "mqtt://{broker.host}:{broker.port}"

[spool]
path = "{path.parent / "spool.db"}"

[[machines]]
id = "{MACHINE}"
mcu = {{ port = "{port}" }}
"""
    )
    return path


class BadgeWatch:
    """The badge events of the machine, as the gateway publishes them."""

    def __init__(self, probe: MqttProbe) -> None:
        self._probe = probe

    def next_badge(self, timeout: float = 2.0) -> Badge | None:
        """The next badge event, or None if none came."""
        try:
            received = self._probe.receive(timeout)
        except MqttProbeError:
            return None
        payload = decode_message(received.topic, received.payload).payload
        return payload if isinstance(payload, Badge) else None


def answer(emulator: Emulator, badges: BadgeWatch, card: str, wanted: str) -> Badge:
    """Present a card until the gateway answers it with the `wanted` reason (its config or
    access list may still be on the way), and return that answer. A card let in too early is
    badged out again, so each try starts from a free machine."""
    seen: list[Badge] = []

    def answered() -> bool:
        emulator.present_card(card)
        badge = badges.next_badge()
        if badge is None:
            return False
        seen.append(badge)
        if badge.reason == wanted:
            return True
        if badge.reason == "ok":
            emulator.present_card(card)
            assert (closing := badges.next_badge()) is not None and closing.reason == "badge_out"
        return False

    eventually(answered, timeout=30, what=f"{card} answered {wanted}")
    return seen[-1]


def badge_out(emulator: Emulator, badges: BadgeWatch, card: str) -> None:
    """Badge a granted card out again, so the next card opens a session of its own."""
    assert answer(emulator, badges, card, "badge_out").decision == "granted"
    eventually(lambda: not emulator.relay_energised, what="the relay to open at badge-out")


def seed(api: Api) -> None:
    """Giulia, a member, and Marco, who looks after the lathe; both with cards."""
    site, registry = api.site, api.state.registry
    registry.add_member(member_id="giulia", name="Giulia Rossi")
    registry.add_member(member_id="marco", name="Marco Bianchi")
    registry.save_machine(
        MachineSpec(
            site=site, id=MACHINE, name="Tornio", gateway=GATEWAY, idle_amps=0.8, run_amps=4
        )
    )
    for member, uid in (("giulia", GIULIA_CARD), ("marco", MARCO_CARD)):
        registry.add_card(site=site, card_hash=card_hash(uid, SITE_KEY.encode()), member=member)


def test_a_machine_past_its_critical_service_refuses_members_until_signed_off(
    sqlite_url: str, mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    site = f"site-{secrets.token_hex(4)}"
    settings = make_settings(sqlite_url, mosquitto, site, maintenance_every_s=0.2)
    with (
        MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe,
        Emulator("lathe", sample_period_s=0.2, seed=3) as emulator,
    ):
        probe.subscribe(MachineTopic.filter(site, MACHINE, TopicKind.BADGES))
        badges = BadgeWatch(probe)
        for api in running_api(settings):
            seed(api)
            coordinator = api.add_login("coord", Role.COORDINATOR)
            for member, staff in (("giulia", False), ("marco", True)):
                granted = api.client.put(
                    "/api/v1/qualifications",
                    json={"member": member, "machine": MACHINE, "staff": staff},
                    headers=coordinator,
                )
                assert granted.status_code == 200, granted.text
                assert granted.json()["staff"] is staff
            config = gateway_toml(
                tmp_path / "gateway.toml", site=site, broker=mosquitto, port=emulator.port
            )
            with gateway_process(config, tmp_path / "gateway.log"):
                answer(emulator, badges, GIULIA_CARD, "ok")
                badge_out(emulator, badges, GIULIA_CARD)

                task = api.client.post(
                    f"/api/v1/machines/{MACHINE}/maintenance/tasks",
                    json={"title": "oil change", "every_running_h": 1, "critical": True},
                    headers=coordinator,
                )
                assert task.status_code == 201, task.text
                # 100 minutes booked, 66 of them running: past the hour the oil lasts.
                started = datetime.now(UTC) - timedelta(minutes=100)
                book_session(
                    api.state, member="giulia", machine=MACHINE, started=started, minutes=100
                )

                refused = answer(emulator, badges, GIULIA_CARD, "out_of_order")
                assert (refused.decision, refused.member) == ("denied", "giulia")
                assert not emulator.relay_energised
                shown = api.client.get(
                    f"/api/v1/machines/{MACHINE}/maintenance", headers=coordinator
                ).json()
                assert shown["out_of_order"] == "service due: oil change"
                assert shown["tasks"][0]["due"] is True

                # Marco looks after the lathe: he may run it for the repair.
                answer(emulator, badges, MARCO_CARD, "ok")
                eventually(lambda: emulator.relay_energised, what="the relay closed for staff")
                badge_out(emulator, badges, MARCO_CARD)

                signed = api.client.post(
                    f"/api/v1/machines/{MACHINE}/maintenance/tasks/{task.json()['id']}/sign-off",
                    json={"notes": "oil changed", "parts": "2 l ISO VG 68"},
                    headers=coordinator,
                )
                assert signed.status_code == 200, signed.text
                answer(emulator, badges, GIULIA_CARD, "ok")
                eventually(lambda: emulator.relay_energised, what="the relay closed for giulia")
                badge_out(emulator, badges, GIULIA_CARD)
                log = api.client.get(
                    f"/api/v1/machines/{MACHINE}/maintenance", headers=coordinator
                ).json()["log"]
                assert [(e["what"], e["done_by"]) for e in log] == [("oil change", "coord")]
