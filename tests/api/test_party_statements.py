"""A member's statements per billing party, over the api and on the pages: each names its party."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from services.api.security import Role
from tests.api.conftest import Api, book_session, seed_registry
from tests.api.test_billing_pages import browse_as
from tests.api.test_parties import PARTIES, giulia_herself, giulias_company

MONTH = "2026-03"
HER_CARD = "ab" * 32
COMPANY_CARD = "ef" * 32


def two_parties_month(api: Api) -> tuple[dict[str, str], str, str]:
    """Giulia's own card and her company's card, a lathe session on each; drafts made."""
    seed_registry(api)
    staff = api.add_login("seeder", Role.COORDINATOR)
    for card in (HER_CARD, COMPANY_CARD):
        api.state.registry.add_card(site=api.site, card_hash=card, member="giulia")
    url = PARTIES.format(member="giulia")
    herself = api.client.post(url, json=giulia_herself(), headers=staff).json()
    company = api.client.post(url, json=giulias_company(), headers=staff).json()
    assigned = api.client.post(
        f"{url}/{company['id']}/cards", json={"card_hash": COMPANY_CARD}, headers=staff
    )
    assert assigned.is_success, assigned.text
    tariff = {"valid_from": "2026-01-01", "machine": "lathe-1", "per_running_minute": "0,50"}
    assert api.client.post("/api/v1/tariffs", json=tariff, headers=staff).status_code == 201
    for day, card in ((10, HER_CARD), (11, COMPANY_CARD), (12, COMPANY_CARD)):
        started = datetime(2026, 3, day, 9, 0, tzinfo=UTC)
        book_session(
            api.state, member="giulia", machine="lathe-1", started=started, minutes=30, card=card
        )
    drafts = api.client.post("/api/v1/statements/drafts", json={"month": MONTH}, headers=staff)
    assert drafts.json()["made"] == 2, drafts.text
    return staff, str(herself["id"]), str(company["id"])


def test_her_statements_name_their_parties_over_the_api_and_on_the_pages(api: Api) -> None:
    staff, herself, company = two_parties_month(api)
    listed = api.client.get(
        "/api/v1/statements", params={"month": MONTH, "member": "giulia"}, headers=staff
    ).json()
    assert [(s["party_label"], str(s["party_id"]), s["total_cents"]) for s in listed] == [
        ("Io", herself, 1_000),  # 20 running minutes at 0.50
        ("Bottega", company, 2_000),
    ]

    browse_as(api, "tesoriera", Role.ADMIN)
    page = api.client.get(f"/manage/statements?month={MONTH}&lang=en").text
    assert "Billed to" in page
    parties = re.findall(r'<td data-party="(\d+)">([^<]+)</td>', page)
    assert parties == [(herself, "Io"), (company, "Bottega")]
    one = api.client.get(f"/manage/statements/{listed[1]['id']}?lang=en").text
    assert f'<dd data-party="{company}">Bottega</dd>' in one
    month = api.client.get(f"/members/giulia/month?month={MONTH}&lang=en").text
    assert re.findall(r'<td data-party="\d+">([^<]+)</td>', month) == ["Io", "Bottega"]


def test_her_erasure_keeps_her_statements_apart_but_drops_her_party_labels(api: Api) -> None:
    staff, herself, company = two_parties_month(api)
    admin = api.add_login("admin", Role.ADMIN)
    assert api.client.post("/api/v1/members/giulia/erase", headers=admin).status_code == 200
    listed = api.client.get("/api/v1/statements", params={"month": MONTH}, headers=staff).json()
    assert [(str(s["party_id"]), s["party_label"], s["total_cents"]) for s in listed] == [
        (herself, None, 1_000),
        (company, None, 2_000),
    ]
    assert {s["member_name"] for s in listed} == {"(erased)"}
