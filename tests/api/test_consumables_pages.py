"""The consumables pages: a member takes material at the machine from her phone, a take beyond
the stock is refused with what is left, and coordinators see low stock marked on every page."""

from __future__ import annotations

from datetime import timedelta

from services.api.security import Role
from services.billing.store import NewItem
from tests.api.conftest import Api, seed_registry
from tests.api.test_billing_pages import browse_as, post
from tests.api.test_parties import PARTIES, giulia_herself, giulias_company


def test_a_member_takes_at_the_machine_and_the_coordinator_sees_low_stock(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    seed_registry(api)
    csrf = browse_as(api, "coord", Role.COORDINATOR)
    status, where = post(
        api,
        "/manage/consumables",
        csrf,
        name="Lama sega a nastro",
        unit="pz",
        price_cents="1250",
        vat_bp="2200",
        stock="3",
        low_stock="1",
        machines="lathe-1",
    )
    assert (status, where) == (303, "/manage/consumables?done=added")
    [item] = api.state.billing.ledger.items()
    assert "data-low-stock" not in api.client.get("/manage/consumables").text

    csrf = browse_as(api, "giulia", Role.MEMBER, member="giulia")
    page = api.client.get("/machines/lathe-1/materials")
    assert page.status_code == 200 and "Lama sega a nastro" in page.text
    assert 'name="viewport"' in page.text and "data-take" in page.text
    assert "Lama sega a nastro" not in api.client.get("/machines/laser-1/materials").text
    status, where = post(api, "/machines/lathe-1/materials", csrf, item=str(item.id), quantity="2")
    assert (status, where) == (303, "/machines/lathe-1/materials?done=taken")
    status, text = post(api, "/machines/lathe-1/materials", csrf, item=str(item.id), quantity="5")
    assert status == 422 and 'data-field="quantity"' in text and "only 1 pz" in text
    status, text = post(api, "/machines/lathe-1/materials", csrf, item="x", quantity="1")
    assert status == 422 and 'data-field="item"' in text
    mine = api.client.get("/machines/lathe-1/materials").text
    assert "data-my-takes" in mine and "25,00" in mine
    assert api.client.get("/manage/consumables").status_code == 403

    browse_as(api, "coord2", Role.COORDINATOR)
    catalogue = api.client.get("/manage/consumables").text
    assert 'data-low-stock="1"' in catalogue and 'data-stock="1"' in catalogue
    # The mark is on every manage page, not only the catalogue's.
    assert 'data-low-stock="1"' in api.client.get("/manage/statements").text


def test_a_retired_item_leaves_the_phone_form_and_her_company_is_billed_for_what_she_takes(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("seeder", Role.COORDINATOR)
    url = PARTIES.format(member="giulia")
    herself = api.client.post(url, json=giulia_herself(), headers=staff).json()
    firm = api.client.post(url, json=giulias_company(), headers=staff).json()
    ledger = api.state.billing.ledger
    blade = ledger.add_item(NewItem(name="Lama", unit="pz", price_cents=1250), stock=5)
    sheet = ledger.add_item(NewItem(name="Foglio", unit="pz", price_cents=300), stock=5)

    csrf = browse_as(api, "coord", Role.COORDINATOR)
    status, where = post(api, f"/manage/consumables/{blade.id}/retire", csrf, retired="1")
    assert (status, where) == (303, "/manage/consumables?done=retired")
    catalogue = api.client.get("/manage/consumables?lang=en").text
    assert f'data-item="{blade.id}" data-retired' in catalogue and "Sell again" in catalogue

    csrf = browse_as(api, "giulia", Role.MEMBER, member="giulia")
    page = api.client.get("/machines/lathe-1/materials").text
    assert "Lama" not in page and "Foglio" in page
    assert f'<option value="{herself["id"]}" selected>' in page and "Bottega" in page
    status, _ = post(
        api,
        "/machines/lathe-1/materials",
        csrf,
        item=str(sheet.id),
        quantity="2",
        party=str(firm["id"]),
    )
    assert status == 303
    status, text = post(api, "/machines/lathe-1/materials", csrf, item=str(blade.id), quantity="1")
    assert status == 422 and 'data-field="item"' in text and "retired" in text
    status, text = post(
        api, "/machines/lathe-1/materials", csrf, item=str(sheet.id), quantity="1", party="x"
    )
    assert status == 422 and 'data-field="party"' in text
    [took] = ledger.takes(member="giulia")
    assert (took.party_id, took.net_cents) == (firm["id"], 600)

    csrf = browse_as(api, "coord2", Role.COORDINATOR)
    status, _ = post(api, f"/manage/consumables/{blade.id}/retire", csrf, retired="0")
    assert status == 303 and not ledger.items(retired=False)[0].retired
    yesterday = (ledger.now() - timedelta(days=1)).date().isoformat()
    status, _ = post(
        api,
        f"/manage/consumables/{blade.id}/take",
        csrf,
        member="giulia",
        quantity="1",
        taken_on=yesterday,
    )
    assert status == 303
    dated = ledger.takes(member="giulia", item_id=blade.id)[0]
    assert dated.taken_at.astimezone(api.state.billing.tz).date().isoformat() == yesterday
    status, text = post(
        api,
        f"/manage/consumables/{blade.id}/take",
        csrf,
        member="giulia",
        quantity="1",
        taken_on="ieri",
    )
    assert status == 422 and 'data-field="taken_on"' in text
