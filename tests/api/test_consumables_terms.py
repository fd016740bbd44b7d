"""Consumables' terms over the api: retired items, takes billed to a named party, and takes
staff date back into a month with no issued statement."""

from __future__ import annotations

from datetime import UTC, datetime

from services.api.security import Role
from tests.api.conftest import Api, MovableClock
from tests.api.test_consumables import _catalogue
from tests.api.test_parties import PARTIES, giulia_herself, giulias_company

MONTH = "2026-03"


def test_a_retired_item_is_not_offered_nor_taken_but_stays_on_past_takes(
    sqlite_api: Api,
) -> None:
    staff, sheet, _filament = _catalogue(sqlite_api)
    giulia = sqlite_api.add_login("giulia", Role.MEMBER, member="giulia")
    client = sqlite_api.client
    item = f"/api/v1/consumables/{sheet['id']}"
    took = client.post(f"{item}/take", json={"quantity": 2, "machine": "lathe-1"}, headers=giulia)
    assert took.status_code == 201, took.text

    retired = client.post(f"{item}/retire", headers=staff)
    assert retired.status_code == 200 and retired.json()["retired"] is True
    offered = client.get("/api/v1/consumables", params={"machine": "lathe-1"}, headers=giulia)
    assert [i["name"] for i in offered.json()] == ["PLA"]
    assert [i["name"] for i in client.get("/api/v1/consumables", headers=giulia).json()] == ["PLA"]
    catalogue = client.get("/api/v1/consumables", headers=staff).json()
    assert [(i["name"], i["retired"]) for i in catalogue] == [
        ("Compensato 4 mm", True),
        ("PLA", False),
    ]
    refused = client.post(f"{item}/take", json={"quantity": 1}, headers=giulia)
    assert refused.status_code == 422 and "item" in refused.text and "retired" in refused.text
    # A retired item is never low: nobody restocks what is no longer sold.
    assert client.get("/api/v1/consumables/low", headers=staff).json() == []
    # Her take stays, in her list and in the accountant's file.
    [mine] = client.get("/api/v1/consumables/takes", headers=giulia).json()
    assert mine["item"] == "Compensato 4 mm" and mine["net_cents"] == 1500
    month = mine["taken_at"][:7]
    csv = client.get(f"/api/v1/consumables/takes/{month}.csv", headers=staff)
    assert "Compensato 4 mm" in csv.text

    again = client.delete(f"{item}/retire", headers=staff)
    assert again.status_code == 200 and again.json()["retired"] is False
    took = client.post(f"{item}/take", json={"quantity": 1}, headers=giulia)
    assert took.status_code == 201, took.text
    assert client.post("/api/v1/consumables/999/retire", headers=staff).status_code == 404
    assert client.post(f"{item}/retire", headers=giulia).status_code == 403


def test_a_take_named_to_her_company_is_billed_on_the_company_statement(
    shop: Api, clock: MovableClock
) -> None:
    clock.move_to(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    staff, sheet, filament = _catalogue(shop)
    giulia = shop.add_login("giulia", Role.MEMBER, member="giulia")
    client = shop.client
    url = PARTIES.format(member="giulia")
    herself = client.post(url, json=giulia_herself(), headers=staff).json()
    company = client.post(url, json=giulias_company(), headers=staff).json()
    marcos = client.post(
        PARTIES.format(member="marco"), json=giulia_herself(label="Marco"), headers=staff
    ).json()

    for_company = client.post(
        f"/api/v1/consumables/{sheet['id']}/take",
        json={"quantity": 2, "machine": "lathe-1", "party": company["id"]},
        headers=giulia,
    )
    assert for_company.status_code == 201, for_company.text
    assert for_company.json()["party"] == company["id"]
    for_her = client.post(
        f"/api/v1/consumables/{filament['id']}/take", json={"quantity": 100}, headers=giulia
    )
    assert for_her.status_code == 201 and for_her.json()["party"] is None
    not_hers = client.post(
        f"/api/v1/consumables/{filament['id']}/take",
        json={"quantity": 1, "party": marcos["id"]},
        headers=giulia,
    )
    assert not_hers.status_code == 422 and "party" in not_hers.text
    no_party = client.post(
        f"/api/v1/consumables/{filament['id']}/take",
        json={"quantity": 1, "party": 99999},
        headers=giulia,
    )
    assert no_party.status_code == 422 and "party" in no_party.text

    clock.move_to(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    staff = shop.login("coord")
    drafts = client.post("/api/v1/statements/drafts", json={"month": MONTH}, headers=staff)
    assert drafts.status_code == 200, drafts.text
    listed = client.get(
        "/api/v1/statements", params={"month": MONTH, "member": "giulia"}, headers=staff
    ).json()
    # 2 × 7.50 + 22 % to the company; 100 × 0.03 + 10 % to herself, her default party.
    assert sorted((s["party_id"], s["net_cents"], s["total_cents"]) for s in listed) == sorted(
        [(company["id"], 1500, 1830), (herself["id"], 300, 330)]
    )

    # Erased, her parties go and her takes stay, on her default (none) from then on.
    admin = shop.add_login("admin", Role.ADMIN)
    erased = client.post("/api/v1/members/giulia/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    kept = client.get("/api/v1/consumables/takes", headers=staff).json()
    assert sorted(t["net_cents"] for t in kept) == [300, 1500]
    assert all(t["party"] is None for t in kept)


def test_staff_date_a_take_back_into_a_month_with_no_issued_statement_only(
    shop: Api, clock: MovableClock
) -> None:
    clock.move_to(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    staff, sheet, _filament = _catalogue(shop)
    giulia = shop.add_login("giulia", Role.MEMBER, member="giulia")
    admin = shop.add_login("admin", Role.ADMIN)
    client = shop.client
    take = f"/api/v1/consumables/{sheet['id']}/take"

    march = {"quantity": 1, "member": "giulia", "taken_at": "2026-03-20T10:00:00+01:00"}
    back = client.post(take, json=march, headers=staff)
    assert back.status_code == 201, back.text
    assert back.json()["taken_at"].startswith("2026-03-20T09:00")
    # A member does not date her own takes; nobody dates one into the future or without a zone.
    assert client.post(take, json={**march, "member": None}, headers=giulia).status_code == 403
    future = client.post(take, json={**march, "taken_at": "2026-05-01T10:00:00Z"}, headers=staff)
    assert future.status_code == 422 and "taken_at" in future.text
    naive = client.post(take, json={**march, "taken_at": "2026-03-20T10:00:00"}, headers=staff)
    assert naive.status_code == 422 and "taken_at" in naive.text

    assert client.post("/api/v1/statements/drafts", json={"month": MONTH}, headers=staff).is_success
    issued = client.post("/api/v1/statements/issue", json={"month": MONTH}, headers=admin)
    assert issued.status_code == 200, issued.text
    [statement] = client.get(
        "/api/v1/statements", params={"month": MONTH, "member": "giulia"}, headers=staff
    ).json()
    assert statement["net_cents"] == 750

    closed = client.post(take, json={**march, "taken_at": "2026-03-21T10:00:00Z"}, headers=staff)
    assert closed.status_code == 409 and "2026-03" in closed.text
    # Stock was not counted down by the refused take; the open month still takes one.
    assert client.get(f"/api/v1/consumables/{sheet['id']}", headers=staff).json()["stock"] == 9
    april = client.post(take, json={**march, "taken_at": "2026-04-01T08:00:00Z"}, headers=staff)
    assert april.status_code == 201, april.text
