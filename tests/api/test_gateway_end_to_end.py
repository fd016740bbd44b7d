"""A qualification changed in the api changes what a running gateway grants, through Mosquitto."""

from __future__ import annotations

from pathlib import Path

from contract import card_hash
from harness.mosquitto import MosquittoServer
from services.api.security import Role
from tests.api.conftest import (
    SITE_KEY,
    Api,
    emulated_gateway,
    seed_registry,
)
from tests.waiting import eventually

CARD = "04A1B2C3"
# The promise: a change reaches the machine within 2 s.
ACL_DELAY_S = 2.0


def test_a_granted_qualification_opens_the_machine_within_two_seconds(
    sqlite_api: Api, mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    api.client.post("/api/v1/cards", json={"member": "giulia", "uid": CARD}, headers=staff)
    card = card_hash(CARD, SITE_KEY.encode())
    with emulated_gateway(mosquitto, api.site, tmp_path / "spool.db") as (emulator, gateway):
        worker = gateway.workers["lathe-1"]

        def decision() -> str:
            return worker.sessions.access.decide(card, 0).reason

        eventually(lambda: decision() == "unknown_card", what="the empty access list")
        emulator.present_card(CARD)
        eventually(lambda: gateway.counters.get("lathe-1.badges", 0) == 1, what="the badge")
        assert not emulator.relay_energised

        granted = api.client.put(
            "/api/v1/qualifications", json={"member": "giulia", "machine": "lathe-1"}, headers=staff
        )
        assert granted.status_code == 200
        eventually(lambda: decision() == "ok", timeout=ACL_DELAY_S, what="the gateway to grant")
        emulator.present_card(CARD)
        eventually(lambda: emulator.relay_energised, what="the relay to close for giulia")

        withdrawn = api.client.delete("/api/v1/qualifications/giulia/lathe-1", headers=staff)
        assert withdrawn.status_code == 204
        eventually(lambda: decision() == "unknown_card", timeout=ACL_DELAY_S, what="the refusal")
