"""Tariffs, cost pools and statements through the api, on billing's own functions."""

from __future__ import annotations

from datetime import UTC, datetime

from services.api.security import Role
from services.billing.months import Month
from tests.api.conftest import Api, book_session, seed_registry

MONTH = "2026-03"
STARTED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _month_with_usage(api: Api) -> dict[str, str]:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    tariff = {
        "valid_from": "2026-01-01",
        "machine": "lathe-1",
        "per_running_minute": "0,50",
        "minimum": "2",
        "vat": "22",
    }
    created = api.client.post("/api/v1/tariffs", json=tariff, headers=staff)
    assert created.status_code == 201, created.text
    # 30 minutes unlocked, 20 of them running.
    book_session(api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=30)
    pool = {"month": MONTH, "name": "Luce", "total": "100.00", "key": "kwh"}
    assert api.client.post("/api/v1/cost-pools", json=pool, headers=staff).status_code == 201
    return staff


def test_a_tariff_is_kept_in_micro_euros_and_shown_in_euros(api: Api) -> None:
    staff = _month_with_usage(api)
    [tariff] = api.client.get(
        "/api/v1/tariffs", params={"machine": "lathe-1"}, headers=staff
    ).json()
    assert (tariff["per_running_minute"], tariff["minimum"], tariff["vat"]) == ("0.5", "2.00", "22")


def test_round_amounts_are_written_plainly(sqlite_api: Api) -> None:
    seed_registry(sqlite_api)
    staff = sqlite_api.add_login("coord", Role.COORDINATOR)
    client = sqlite_api.client
    tariff = {"valid_from": "2026-01-01", "per_kwh": "10", "vat": "20"}
    created = client.post("/api/v1/tariffs", json=tariff, headers=staff).json()
    assert (created["per_kwh"], created["vat"]) == ("10", "20")
    pool = {
        "month": MONTH,
        "name": "Luce",
        "total": "300",
        "key": "kwh",
        "billed_quantity": "1000",
        "remainder_key": "equal",
        "vat": "10",
    }
    created = client.post("/api/v1/cost-pools", json=pool, headers=staff)
    assert created.status_code == 201, created.text
    assert (created.json()["billed_quantity"], created.json()["vat"]) == ("1000", "10")


def test_a_price_with_too_many_decimals_is_refused_naming_the_field(sqlite_api: Api) -> None:
    staff = sqlite_api.add_login("coord", Role.COORDINATOR)
    body = {"valid_from": "2026-01-01", "per_kwh": "0.1234567"}
    answer = sqlite_api.client.post("/api/v1/tariffs", json=body, headers=staff)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "per_kwh"]


def test_a_months_cost_pools_are_listed_and_a_duplicate_refused(sqlite_api: Api) -> None:
    staff = _month_with_usage(sqlite_api)
    client = sqlite_api.client
    [pool] = client.get("/api/v1/cost-pools", params={"month": MONTH}, headers=staff).json()
    assert (pool["name"], pool["total"], pool["key"]) == ("Luce", "100.00", "kwh")
    again = {"month": MONTH, "name": "Luce", "total": "5", "key": "equal"}
    refused = client.post("/api/v1/cost-pools", json=again, headers=staff)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "name"]
    assert client.delete(f"/api/v1/cost-pools/{MONTH}/Luce", headers=staff).status_code == 204
    assert client.get("/api/v1/cost-pools", params={"month": MONTH}, headers=staff).json() == []


def test_drafts_are_issued_numbered_credited_and_downloaded_as_pdf(api: Api) -> None:
    staff = _month_with_usage(api)
    admin = api.add_login("admin", Role.ADMIN)
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    client = api.client

    drafts = client.post("/api/v1/statements/drafts", json={"month": MONTH}, headers=staff)
    assert drafts.status_code == 200, drafts.text
    assert drafts.json()["made"] == 1  # only giulia used a machine, so the kWh pool is hers
    mine = client.get("/api/v1/statements", params={"month": MONTH}, headers=giulia).json()
    assert [s["member"] for s in mine] == ["giulia"] and mine[0]["status"] == "draft"
    # 20 running minutes at 0.50 = 10.00, all of the electricity 100.00; VAT on the 10.00.
    assert mine[0]["net_cents"] == 11000 and mine[0]["vat_cents"] == 220

    api.state.billing.ledger.top_up("giulia", 500, by="coord", note="contanti")
    issued = client.post("/api/v1/statements/issue", json={"month": MONTH}, headers=admin)
    assert issued.status_code == 200
    numbers = issued.json()["numbers"]
    assert len(numbers) == 1 and numbers[0].endswith("/0001")

    statement_id = mine[0]["id"]
    # Her 5.00 € of credit paid part of it: the statement says so, and what is still owed.
    read = client.get(f"/api/v1/statements/{statement_id}", headers=giulia).json()
    paid = (read["credit_drawn_cents"], read["credit_owed_cents"], read["credit_left_cents"])
    assert paid == (500, 11220 - 500, 0)
    pdf = client.get(f"/api/v1/statements/{statement_id}/pdf", headers=giulia)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    credit = client.post(
        f"/api/v1/statements/{statement_id}/credit-note",
        json={"reason": "machine broke mid-job", "net": "10.00", "vat": "22"},
        headers=admin,
    )
    assert credit.status_code == 201, credit.text
    note = credit.json()
    assert note["kind"] == "credit_note" and note["credits_number"] in numbers
    assert note["net_cents"] == -1000
    # The api goes through billing's service: the credit note is a step in the month's run log.
    steps = [(r.step, r.outcome, r.by) for r in api.state.billing.ledger.runs(Month.parse(MONTH))]
    assert steps == [
        ("draft", "done", "coord"),
        ("issue", "done", "admin"),
        ("credit", "done", "admin"),
    ]


def test_an_issued_month_refuses_a_new_cost_pool_with_409(sqlite_api: Api) -> None:
    staff = _month_with_usage(sqlite_api)
    admin = sqlite_api.add_login("admin", Role.ADMIN)
    client = sqlite_api.client
    client.post("/api/v1/statements/drafts", json={"month": MONTH}, headers=staff)
    client.post("/api/v1/statements/issue", json={"month": MONTH}, headers=admin)
    late = {"month": MONTH, "name": "Affitto", "total": "40", "key": "equal"}
    assert client.post("/api/v1/cost-pools", json=late, headers=staff).status_code == 409


def test_a_refused_body_says_what_is_wrong_in_plain_words(sqlite_api: Api) -> None:
    staff = sqlite_api.add_login("coord", Role.COORDINATOR)
    body = {"per_kwh": "0.10", "machine": 7}
    answer = sqlite_api.client.post("/api/v1/tariffs", json=body, headers=staff)
    assert answer.status_code == 422
    said = {tuple(problem["loc"]): problem["msg"] for problem in answer.json()["detail"]}
    assert said[("body", "valid_from")] == "is missing"
    assert said[("body", "machine")] == "must be text"
