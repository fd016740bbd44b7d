"""The credit page: staff top up and sell a pack from it, a member sees her own balance and
packs (and nobody else's), and a waiting bank credit goes on her credit from the payments page."""

from __future__ import annotations

from services.api.security import Role
from services.billing.payments import import_bank_file
from services.billing.tariffs import Meter
from tests.api.conftest import Api, seed_registry
from tests.api.test_billing_pages import browse_as
from tests.billing.camt import Entry, camt053


def test_staff_top_up_and_sell_a_pack_and_the_member_sees_her_credit(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    client = api.client
    api.state.billing.ledger.add_pack_product(
        name="10 ore laser",
        meter=Meter.RUNNING_MINUTES,
        quantity=36_000_000,
        price_cents=20_000,
        vat_bp=2200,
        valid_days=180,
    )
    csrf = browse_as(api, "cassa", Role.COORDINATOR)
    topped = client.post(
        "/members/giulia/credit/top-up",
        data={"csrf": csrf, "amount": "25,50", "note": "contanti"},
        follow_redirects=False,
    )
    assert topped.status_code == 303, topped.text
    [product] = api.state.billing.ledger.pack_products()
    sold = client.post(
        "/members/giulia/credit/pack",
        data={"csrf": csrf, "product": str(product.id)},
        follow_redirects=False,
    )
    assert sold.status_code == 303, sold.text
    refused = client.post(
        "/members/giulia/credit/top-up",
        data={"csrf": csrf, "amount": "-3"},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and 'data-field="amount"' in refused.text

    import_bank_file(api.state.billing, camt053([Entry(450, "Giulia Rossi", text="ricarica")]))
    [waiting] = api.state.billing.ledger.payments(unmatched=True)
    assert "data-to-credit" in client.get("/manage/payments").text
    moved = client.post(
        f"/manage/payments/{waiting.id}/to-credit",
        data={"csrf": csrf, "member": "giulia"},
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text

    browse_as(api, "giulia", Role.MEMBER, member="giulia")
    page = client.get("/members/giulia/credit?lang=en")
    assert page.status_code == 200
    assert 'data-balance="3000"' in page.text
    assert "10 ore laser" in page.text and "Top-up" in page.text
    assert "data-top-up" not in page.text  # a member sees, staff record
    assert client.get("/members/marco/credit").status_code == 403


def test_staff_change_and_retire_a_pack_on_the_catalogue_page(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    client = api.client
    ledger = api.state.billing.ledger
    product = ledger.add_pack_product(
        name="10 ore laser",
        meter=Meter.RUNNING_MINUTES,
        quantity=36_000_000,
        price_cents=20_000,
        vat_bp=2200,
        valid_days=180,
    )
    ledger.buy_pack("giulia", product.id, by="cassa")
    csrf = browse_as(api, "cassa", Role.COORDINATOR)
    page = client.get("/manage/packs?lang=en")
    assert page.status_code == 200 and "data-edit-pack" in page.text and "Retire" in page.text
    edited = client.post(
        f"/manage/packs/{product.id}",
        data={"csrf": csrf, "name": "10 ore laser 2027", "price": "220,00", "valid_days": "365"},
        follow_redirects=False,
    )
    assert edited.status_code == 303, edited.text
    [changed] = ledger.pack_products()
    assert (changed.name, changed.price_cents, changed.valid_days) == (
        "10 ore laser 2027",
        22_000,
        365,
    )
    refused = client.post(
        f"/manage/packs/{product.id}",
        data={"csrf": csrf, "valid_days": "many"},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and 'data-field="valid_days"' in refused.text
    retired = client.post(
        f"/manage/packs/{product.id}/retire", data={"csrf": csrf}, follow_redirects=False
    )
    assert retired.status_code == 303, retired.text
    assert ledger.pack_products() == []
    assert "10 ore laser 2027" not in client.get("/manage/packs").text
    [kept] = ledger.member_packs("giulia")
    assert (kept.name, kept.price_cents) == ("10 ore laser", 20_000)
    browse_as(api, "giulia", Role.MEMBER, member="giulia")
    assert client.get("/manage/packs").status_code == 403
