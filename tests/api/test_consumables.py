"""Consumables over the api: a catalogue with stock, takes at the machine and by staff, low
stock for coordinators, and the takes on the issued statement and its PDF."""

from __future__ import annotations

from datetime import UTC, datetime

from services.api.security import Role
from tests.api.conftest import (
    PASSWORD,
    Api,
    MovableClock,
    seed_registry,
)
from tests.billing.test_fiscal_pdf import pdf_text

MONTH = "2026-03"


def _catalogue(api: Api) -> tuple[dict[str, str], dict[str, object], dict[str, object]]:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    client = api.client
    sheet = client.post(
        "/api/v1/consumables",
        json={
            "name": "Compensato 4 mm",
            "unit": "foglio",
            "price_cents": 750,
            "vat_bp": 2200,
            "stock": 10,
            "low_stock": 3,
            "machines": ["lathe-1"],
        },
        headers=staff,
    )
    assert sheet.status_code == 201, sheet.text
    filament = client.post(
        "/api/v1/consumables",
        json={"name": "PLA", "unit": "g", "price_cents": 3, "vat_bp": 1000, "stock": 1000},
        headers=staff,
    )
    assert filament.status_code == 201, filament.text
    return staff, sheet.json(), filament.json()


def test_a_month_of_takes_is_on_the_issued_statement_and_its_pdf(
    shop: Api, clock: MovableClock
) -> None:
    clock.move_to(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    staff, sheet, filament = _catalogue(shop)
    giulia = shop.add_login("giulia", Role.MEMBER, member="giulia")
    admin = shop.add_login("admin", Role.ADMIN)
    client = shop.client

    # At the lathe, from her phone: two sheets; then staff record 250 g of filament for her.
    mine = client.post(
        f"/api/v1/consumables/{sheet['id']}/take",
        json={"quantity": 2, "machine": "lathe-1"},
        headers=giulia,
    )
    assert mine.status_code == 201, mine.text
    assert (mine.json()["net_cents"], mine.json()["member"]) == (1500, "giulia")
    for_her = client.post(
        f"/api/v1/consumables/{filament['id']}/take",
        json={"quantity": 250, "member": "giulia"},
        headers=staff,
    )
    assert for_her.status_code == 201, for_her.text
    # Another member's takes are not hers to record.
    other = client.post(
        f"/api/v1/consumables/{sheet['id']}/take",
        json={"quantity": 1, "member": "marco"},
        headers=giulia,
    )
    assert other.status_code == 403

    clock.move_to(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    # Tokens from March have expired by April: log in again.
    staff, giulia, admin = (shop.login(name) for name in ("coord", "giulia", "admin"))
    drafts = client.post("/api/v1/statements/drafts", json={"month": MONTH}, headers=staff)
    assert drafts.status_code == 200, drafts.text
    issued = client.post("/api/v1/statements/issue", json={"month": MONTH}, headers=admin)
    assert issued.status_code == 200, issued.text
    [statement] = client.get("/api/v1/statements", params={"month": MONTH}, headers=giulia).json()
    # 2 × 7.50 at 22 % and 250 × 0.03 at 10 %: 15.00 + 3.30 and 7.50 + 0.75.
    assert (statement["net_cents"], statement["vat_cents"]) == (2250, 405)
    assert statement["total_cents"] == 2655 and statement["number"]

    pdf = client.get(f"/api/v1/statements/{statement['id']}/pdf", headers=giulia)
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert "Materiali" in text and "Compensato 4 mm" in text and "250 g" in text
    # The statement's page, as the coordinator's browser (with the login's cookie) sees it.
    client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
    page = client.get(f"/manage/statements/{statement['id']}")
    assert page.status_code == 200 and "Compensato 4 mm" in page.text
    assert "data-consumables" in page.text


def test_stock_is_counted_down_a_take_beyond_it_refused_and_low_stock_shown(
    sqlite_api: Api,
) -> None:
    staff, sheet, _filament = _catalogue(sqlite_api)
    giulia = sqlite_api.add_login("giulia", Role.MEMBER, member="giulia")
    client = sqlite_api.client
    item = f"/api/v1/consumables/{sheet['id']}"

    took = client.post(f"{item}/take", json={"quantity": 7, "machine": "lathe-1"}, headers=giulia)
    assert took.status_code == 201, took.text
    too_many = client.post(f"{item}/take", json={"quantity": 4}, headers=giulia)
    assert too_many.status_code == 422
    assert "quantity" in too_many.text and "only 3 foglio" in too_many.text
    elsewhere = client.post(
        f"{item}/take", json={"quantity": 1, "machine": "laser-1"}, headers=giulia
    )
    assert elsewhere.status_code == 422 and "item" in elsewhere.text
    [low] = client.get("/api/v1/consumables/low", headers=staff).json()
    assert (low["name"], low["stock"], low["low"]) == ("Compensato 4 mm", 3, True)
    offered = client.get(
        "/api/v1/consumables", params={"machine": "laser-1"}, headers=giulia
    ).json()
    assert [i["name"] for i in offered] == ["PLA"]

    restocked = client.post(f"{item}/restock", json={"quantity": 20}, headers=staff)
    assert restocked.status_code == 200 and restocked.json()["stock"] == 23
    assert client.get("/api/v1/consumables/low", headers=staff).json() == []
    [mine] = client.get("/api/v1/consumables/takes", headers=giulia).json()
    assert (mine["quantity"], mine["recorded_by"]) == (7, "giulia")
    # The accountant's file of the month's takes, and the member's own export.
    month = mine["taken_at"][:7]
    csv = client.get(f"/api/v1/consumables/takes/{month}.csv", params={"lang": "it"}, headers=staff)
    assert csv.status_code == 200 and csv.text.startswith("taken;member;item")
    assert ";giulia;Compensato 4 mm;foglio;7;7,50;22,00;52,50;lathe-1;giulia" in csv.text
    export = client.get("/api/v1/members/giulia/export", headers=giulia).json()
    assert [t["net_cents"] for t in export["consumables"]] == [5250]

    # Erased, her take stays (it is on her statement) under her erased id, named by no login.
    admin = sqlite_api.add_login("admin", Role.ADMIN)
    erased = client.post("/api/v1/members/giulia/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["consumables_reassigned"] == 1
    [kept] = client.get("/api/v1/consumables/takes", headers=staff).json()
    assert kept["member"] == erased.json()["erased_id"] == kept["recorded_by"]
    assert kept["net_cents"] == 5250


def test_bad_consumable_input_is_a_422_naming_the_field(sqlite_api: Api) -> None:
    staff, sheet, _filament = _catalogue(sqlite_api)
    client = sqlite_api.client
    cases = [
        ("POST", "/api/v1/consumables", {"name": "X", "unit": "pc", "price_cents": -1}),
        (
            "POST",
            "/api/v1/consumables",
            {"name": "X", "unit": "pc", "price_cents": 1, "vat_bp": 10001},
        ),
        ("POST", "/api/v1/consumables", {"name": "PLA", "unit": "g", "price_cents": 1}),
        (
            "POST",
            "/api/v1/consumables",
            {"name": "X", "unit": "pc", "price_cents": 1, "machines": ["nope"]},
        ),
        ("POST", f"/api/v1/consumables/{sheet['id']}/take", {"quantity": 0, "member": "giulia"}),
        ("POST", f"/api/v1/consumables/{sheet['id']}/take", {"quantity": 1, "member": "nobody"}),
        ("POST", f"/api/v1/consumables/{sheet['id']}/restock", {"quantity": "many"}),
    ]
    for method, path, body in cases:
        answer = client.request(method, path, json=body, headers=staff)
        assert answer.status_code == 422, (path, body, answer.text)
    missing = client.post("/api/v1/consumables/999/take", json={"quantity": 1}, headers=staff)
    assert missing.status_code == 404
