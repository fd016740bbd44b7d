"""A member downloads everything held about them; erasure pseudonymises and keeps the amounts."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.mqtt import MqttProbe
from services.api.security import Role
from tests.api.conftest import Api, book_session, next_acl, seed_registry

STARTED = datetime(2026, 5, 4, 14, 0, tzinfo=UTC)


def test_a_member_downloads_all_their_data_as_json(api: Api) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    api.client.post("/api/v1/cards", json={"member": "giulia", "uid": "04A1B2C3"}, headers=staff)
    api.client.put(
        "/api/v1/qualifications", json={"member": "giulia", "machine": "lathe-1"}, headers=staff
    )
    book_session(api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=45)
    book_session(api.state, member="marco", machine="lathe-1", started=STARTED, minutes=5)
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    export = api.client.get("/api/v1/members/giulia/export", headers=giulia)
    assert export.status_code == 200
    data = export.json()
    assert data["member"]["email"] == "giulia@example.org"
    assert len(data["cards"]) == 1 and data["qualifications"][0]["machine"] == "lathe-1"
    assert [s["member"] for s in data["sessions"]] == ["giulia"]
    assert [login["username"] for login in data["logins"]] == ["giulia"]
    assert "password_hash" not in export.text


def test_erasing_a_member_keeps_their_sessions_amounts_under_a_pseudonym(
    api: Api, acl_probe: MqttProbe
) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    admin = api.add_login("admin", Role.ADMIN)
    api.client.post("/api/v1/cards", json={"member": "giulia", "uid": "04A1B2C3"}, headers=staff)
    api.client.put(
        "/api/v1/qualifications", json={"member": "giulia", "machine": "lathe-1"}, headers=staff
    )
    next_acl(acl_probe, "lathe-1", lambda a: len(a.entries) == 1)
    session_id = book_session(
        api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=45, energy_wh=900
    )
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")

    erased = api.client.post("/api/v1/members/giulia/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    result = erased.json()
    assert result["sessions_pseudonymised"] == 1 and result["cards_removed"] == 1
    assert result["pseudonym"].startswith("erased-")

    [session] = api.client.get(
        "/api/v1/sessions", params={"machine": "lathe-1"}, headers=staff
    ).json()
    assert session["id"] == session_id and session["member"] == result["pseudonym"]
    assert (session["running_s"], session["energy_wh"]) == (1800.0, 900.0)
    member = api.client.get("/api/v1/members/giulia", headers=staff).json()
    assert (member["name"], member["email"]) == ("(erased)", None) and member["erased_at"]
    assert api.client.get("/api/v1/me", headers=giulia).status_code == 401
    next_acl(acl_probe, "lathe-1", lambda a: not a.entries)


def test_only_an_admin_erases(api: Api) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    assert api.client.post("/api/v1/members/giulia/erase", headers=staff).status_code == 403
