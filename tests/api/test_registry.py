"""Members, cards and qualifications through the api; each change reaches the machines' acl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contract import card_hash
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.security import Role
from tests.api.conftest import (
    SITE_KEY,
    Api,
    make_settings,
    next_acl,
    running_api,
    seed_registry,
)

CARD_UID = "04:A1:B2:C3"


def test_a_coordinator_registers_a_member_and_reads_them_back(api: Api) -> None:
    staff = api.add_login("coord", Role.COORDINATOR)
    body = {"id": "sara", "name": "Sara Verdi", "email": "sara@example.org"}
    created = api.client.post("/api/v1/members", json=body, headers=staff)
    assert created.status_code == 201
    read = api.client.get("/api/v1/members/sara", headers=staff).json()
    assert (read["name"], read["email"], read["erased_at"]) == ("Sara Verdi", body["email"], None)
    renamed = api.client.patch("/api/v1/members/sara", json={"name": "Sara V."}, headers=staff)
    assert renamed.json()["name"] == "Sara V."


def test_a_taken_member_id_is_refused_naming_the_field(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    again = api.client.post("/api/v1/members", json={"id": "giulia", "name": "G"}, headers=staff)
    assert again.status_code == 422
    assert again.json()["detail"][0]["loc"] == ["body", "member_id"]
    assert api.state.rejections.snapshot().get("member_id") == 1


def test_garbage_is_refused_naming_the_field_and_counted(sqlite_api: Api) -> None:
    api = sqlite_api
    staff = api.add_login("coord", Role.COORDINATOR)
    answer = api.client.post(
        "/api/v1/members", json={"id": "Not An Id!", "name": ""}, headers=staff
    )
    assert answer.status_code == 422
    fields = {tuple(p["loc"]) for p in answer.json()["detail"]}
    assert fields == {("body", "id"), ("body", "name")}
    counts = api.state.rejections.snapshot()
    assert counts["body.id"] == 1 and counts["body.name"] == 1


def test_a_card_typed_by_uid_is_kept_only_as_the_site_keyed_hash(api: Api) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    body = {"member": "giulia", "uid": CARD_UID, "label": "blue tag"}
    created = api.client.post("/api/v1/cards", json=body, headers=staff)
    assert created.status_code == 201, created.text
    assert created.json()["card_hash"] == card_hash(CARD_UID, SITE_KEY.encode())
    assert "uid" not in created.json()
    cards = api.client.get("/api/v1/cards", params={"member": "giulia"}, headers=staff).json()
    assert [c["label"] for c in cards] == ["blue tag"]


def test_a_card_needs_exactly_one_of_uid_and_hash(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    answer = api.client.post("/api/v1/cards", json={"member": "giulia"}, headers=staff)
    assert answer.status_code == 422
    assert "exactly one of uid or card_hash" in answer.text


def test_granting_a_qualification_publishes_the_machines_access_list(
    api: Api, acl_probe: MqttProbe
) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    api.client.post("/api/v1/cards", json={"member": "giulia", "uid": CARD_UID}, headers=staff)
    until = datetime(2031, 1, 31, 23, 0, tzinfo=UTC)
    granted = api.client.put(
        "/api/v1/qualifications",
        json={"member": "giulia", "machine": "lathe-1", "valid_until": until.isoformat()},
        headers=staff,
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["granted_by"] == "coord"
    acl = next_acl(acl_probe, "lathe-1", lambda a: len(a.entries) == 1)
    [entry] = acl.entries
    assert entry.card == card_hash(CARD_UID, SITE_KEY.encode())
    assert (entry.member, entry.until) == ("giulia", int(until.timestamp() * 1000))

    withdrawn = api.client.delete("/api/v1/qualifications/giulia/lathe-1", headers=staff)
    assert withdrawn.status_code == 204
    emptied = next_acl(acl_probe, "lathe-1", lambda a: not a.entries)
    assert emptied.version > acl.version


def test_revoking_a_card_takes_it_off_every_machine(api: Api, acl_probe: MqttProbe) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    card = api.client.post(
        "/api/v1/cards", json={"member": "giulia", "uid": CARD_UID}, headers=staff
    ).json()["card_hash"]
    api.client.put(
        "/api/v1/qualifications", json={"member": "giulia", "machine": "laser-1"}, headers=staff
    )
    next_acl(acl_probe, "laser-1", lambda a: len(a.entries) == 1)
    revoked = api.client.post(f"/api/v1/cards/{card}/revoke", headers=staff)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    next_acl(acl_probe, "laser-1", lambda a: not a.entries)


def test_an_expired_qualification_is_not_on_the_access_list(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    api.client.post("/api/v1/cards", json={"member": "giulia", "uid": CARD_UID}, headers=staff)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    api.client.put(
        "/api/v1/qualifications",
        json={"member": "giulia", "machine": "lathe-1", "valid_until": yesterday.isoformat()},
        headers=staff,
    )
    acl = api.client.get("/api/v1/machines/lathe-1/acl", headers=staff).json()
    assert acl == {"machine": "lathe-1", "entries": []}


def test_a_naive_valid_until_is_refused(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    answer = api.client.put(
        "/api/v1/qualifications",
        json={"member": "giulia", "machine": "lathe-1", "valid_until": "2031-01-01T00:00:00"},
        headers=staff,
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "valid_until"]


def test_machines_are_saved_with_thresholds_checked(sqlite_api: Api) -> None:
    api = sqlite_api
    staff = api.add_login("coord", Role.COORDINATOR)
    body = {"name": "Sega", "gateway": "gw-2", "idle_amps": 1.0, "run_amps": 0.5}
    refused = api.client.put("/api/v1/machines/saw-1", json=body, headers=staff)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "run_amps"]
    body["run_amps"] = 3.0
    saved = api.client.put("/api/v1/machines/saw-1", json=body, headers=staff)
    assert saved.status_code == 200
    assert saved.json()["gateway"] == "gw-2"
    assert [m["id"] for m in api.client.get("/api/v1/machines", headers=staff).json()] == ["saw-1"]


def test_access_list_versions_keep_growing_across_api_restarts(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, acl_probe: MqttProbe
) -> None:
    versions = []
    for restart in range(2):
        for api in running_api(make_settings(sqlite_url, mosquitto, site)):
            if restart == 0:
                seed_registry(api)
                api.state.acl.machines_changed(["lathe-1"])
            # After a restart the api republishes each machine's list as it connects.
            versions.append(next_acl(acl_probe, "lathe-1", lambda a: True).version)
    assert versions[1] > versions[0]
