"""The consumables pages: a member takes material at the machine from her phone, a take beyond
the stock is refused with what is left, and coordinators see low stock marked on every page."""

from __future__ import annotations

from services.api.security import Role
from tests.api.conftest import Api, seed_registry
from tests.api.test_billing_pages import browse_as, post


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
