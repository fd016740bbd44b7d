"""Logins: hashed passwords, keyed token digests, rate-limited failures, cookies that need CSRF."""

from __future__ import annotations

from sqlalchemy import select

from services.api.deps import SESSION_COOKIE
from services.api.models import ApiTokenRow, ApiUserRow
from services.api.security import Role
from tests.api.conftest import PASSWORD, Api, seed_registry


def test_a_login_returns_a_token_that_says_who_it_belongs_to(api: Api) -> None:
    seed_registry(api)
    headers = api.add_login("giulia", Role.MEMBER, member="giulia")
    me = api.client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {
        "username": "giulia",
        "role": "member",
        "member": "giulia",
        "gateway": None,
    }


def test_passwords_are_argon2_hashes_and_tokens_are_stored_only_as_digests(api: Api) -> None:
    headers = api.add_login("coord", Role.COORDINATOR)
    token = headers["Authorization"].removeprefix("Bearer ")
    with api.state.open_db() as db:
        user = db.scalar(select(ApiUserRow).where(ApiUserRow.username == "coord"))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        digests = db.scalars(select(ApiTokenRow.digest)).all()
    assert digests and token not in digests


def test_a_wrong_password_gets_401_and_no_token(sqlite_api: Api) -> None:
    api = sqlite_api
    api.add_login("coord", Role.COORDINATOR)
    answer = api.client.post("/api/v1/login", json={"username": "coord", "password": "wrong"})
    assert answer.status_code == 401
    assert "access_token" not in answer.json()


def test_after_five_failures_even_the_right_password_must_wait(sqlite_api: Api) -> None:
    api = sqlite_api
    api.add_login("coord", Role.COORDINATOR)
    for _ in range(5):
        failed = api.client.post("/api/v1/login", json={"username": "coord", "password": "nope"})
        assert failed.status_code == 401
    locked = api.client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0


def test_without_a_token_every_api_route_answers_401(sqlite_api: Api) -> None:
    api = sqlite_api
    assert api.client.get("/api/v1/members").status_code == 401
    bad = api.client.get("/api/v1/members", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_logout_ends_the_token(sqlite_api: Api) -> None:
    api = sqlite_api
    headers = api.add_login("coord", Role.COORDINATOR)
    assert api.client.post("/api/v1/logout", headers=headers).status_code == 204
    assert api.client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_disabled_login_loses_its_tokens(sqlite_api: Api) -> None:
    api = sqlite_api
    admin = api.add_login("admin", Role.ADMIN)
    coord = api.add_login("coord", Role.COORDINATOR)
    users = {u["username"]: u["id"] for u in api.client.get("/api/v1/users", headers=admin).json()}
    answer = api.client.post(f"/api/v1/users/{users['coord']}/disable", headers=admin)
    assert answer.status_code == 200 and answer.json()["disabled_at"] is not None
    assert api.client.get("/api/v1/me", headers=coord).status_code == 401


def test_the_page_cookie_reads_but_changes_only_with_the_csrf_header(api: Api) -> None:
    api.add_login("coord", Role.COORDINATOR)
    login = api.client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
    csrf = login.json()["csrf"]
    assert api.client.cookies.get(SESSION_COOKIE)
    assert api.client.get("/api/v1/members").status_code == 200
    body = {"id": "sara", "name": "Sara Verdi"}
    refused = api.client.post("/api/v1/members", json=body)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    created = api.client.post("/api/v1/members", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201


def test_an_admin_creates_a_member_login_only_for_a_registered_member(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    admin = api.add_login("admin", Role.ADMIN)
    body = {"username": "ghost", "password": PASSWORD, "role": "member", "member": "nobody"}
    refused = api.client.post("/api/v1/users", json=body, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "member"]
    body["member"] = "giulia"
    assert api.client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    assert api.login("ghost")
