"""Plans on the tariffs page, and each member's plan on the members page."""

from __future__ import annotations

import re

from services.api.security import Role
from tests.api.conftest import PASSWORD, Api, seed_registry


def _browse_as(api: Api, username: str, role: Role) -> dict[str, str]:
    api.add_login(username, role)
    answer = api.client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200
    return {"X-CSRF-Token": answer.json()["csrf"]}


def test_a_plan_saved_in_cents_shows_as_money_and_a_member_is_put_on_it(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    csrf = _browse_as(api, "coord", Role.COORDINATOR)
    body = {"monthly_fee_cents": 123450, "vat": "22"}
    saved = api.client.put("/api/v1/plans/maker", json=body, headers=csrf)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {
        "name": "maker",
        "monthly_fee_cents": 123450,
        "vat": "22",
        "allowances": 0,
        "requires_credit": False,
    }
    assert re.search(r"1\.234,50\s*€", api.client.get("/manage/tariffs?lang=it").text)
    assert "€1,234.50" in api.client.get("/manage/tariffs?lang=en").text

    put_on = {"plan": "maker", "valid_from": "2026-01-01"}
    answer = api.client.post("/api/v1/members/giulia/plans", json=put_on, headers=csrf)
    assert answer.status_code == 201, answer.text
    periods = api.client.get("/api/v1/members/giulia/plans").json()
    assert periods == [{"member": "giulia", "plan": "maker", "valid_from": "2026-01-01"}]
    page = api.client.get("/manage/members?lang=en").text
    row = page.split('data-member-row="giulia"')[1].split("</tr>")[0]
    assert "<span data-current-plan>maker</span>" in row
    assert 'href="/manage/cards"' in row and 'href="/manage/qualifications"' in row
    marco = page.split('data-member-row="marco"')[1].split("</tr>")[0]
    assert "<span data-current-plan>no plan</span>" in marco


def test_plans_refuse_bad_input_naming_the_field(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    cases = (
        ("/api/v1/plans/maker", "PUT", {"monthly_fee_cents": -1}, "monthly_fee_cents"),
        ("/api/v1/plans/maker", "PUT", {"monthly_fee_cents": "12,50"}, "monthly_fee_cents"),
        ("/api/v1/plans/maker", "PUT", {"monthly_fee_cents": 1, "vat": "x"}, "vat"),
        ("/api/v1/members/giulia/plans", "POST", {"plan": "nope"}, "valid_from"),
        (
            "/api/v1/members/giulia/plans",
            "POST",
            {"plan": "nope", "valid_from": "2026-01-01"},
            "plan",
        ),
    )
    for url, method, body, field in cases:
        answer = api.client.request(method, url, json=body, headers=staff)
        assert answer.status_code == 422, (field, answer.text)
        assert field in answer.text, (field, answer.text)
    missing = {"plan": None, "valid_from": "2026-01-01"}
    answer = api.client.post("/api/v1/members/nobody/plans", json=missing, headers=staff)
    assert answer.status_code == 404


def test_only_staff_change_plans(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    member = api.add_login("giulia", Role.MEMBER, member="giulia")
    answer = api.client.put("/api/v1/plans/maker", json={"monthly_fee_cents": 0}, headers=member)
    assert answer.status_code == 403
    assert api.client.get("/api/v1/members/giulia/plans", headers=member).status_code == 403
