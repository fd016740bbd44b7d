"""Credit and packs over the api: staff top up and sell packs, a member reads her own, and the
access lists carry what a credit-required member's credit buys at each machine."""

from __future__ import annotations

from datetime import UTC, date, datetime

from contract import AccessList
from harness.mqtt import MqttProbe
from services.api.security import Role
from services.billing.tariffs import Plan, Tariff
from tests.api.conftest import Api, book_session, next_acl, seed_registry

GIULIA_CARD = "ab" * 32


def _credit_of(acl: AccessList) -> float | None:
    [entry] = [e for e in acl.entries if e.member == "giulia"]
    return entry.credit_s


def _credit_required(api: Api) -> dict[str, str]:
    seed_registry(api)
    registry, ledger = api.state.registry, api.state.billing.ledger
    registry.add_card(site=api.site, card_hash=GIULIA_CARD, member="giulia")
    registry.qualify(member="giulia", site=api.site, machine="laser-1")
    # 0.50 € a running minute + 22 % VAT: 0.61 € a minute.
    ledger.add_tariff(
        Tariff(
            valid_from=date(2026, 1, 1),
            site=api.site,
            machine="laser-1",
            per_running_minute=500_000,
            vat_bp=2200,
        )
    )
    ledger.save_plan(Plan(name="prepaid", requires_credit=True))
    ledger.assign_plan("giulia", "prepaid", valid_from=date(2026, 1, 1))
    return api.add_login("coord", Role.COORDINATOR)


def test_a_top_up_republishes_what_her_credit_buys_at_the_machine(
    api: Api, acl_probe: MqttProbe
) -> None:
    staff = _credit_required(api)
    api.state.acl.members_changed()
    empty = next_acl(acl_probe, "laser-1", lambda acl: _credit_of(acl) == 0.0)
    assert empty.entries[0].credit_s == 0.0

    answer = api.client.post(
        "/api/v1/members/giulia/credit/top-ups",
        json={"amount_cents": 610, "note": "contanti"},
        headers=staff,
    )

    assert answer.status_code == 201, answer.text
    assert (answer.json()["balance_after_cents"], answer.json()["by"]) == (610, "coord")
    # 6.10 € at 0.61 € a minute: ten running minutes.
    topped = next_acl(acl_probe, "laser-1", lambda acl: _credit_of(acl) == 600.0)
    assert topped.entries[0].credit_until is None
    # A session booked and heard: what it cost comes off, and the list says up to when.
    started = datetime.now(UTC).replace(microsecond=0)
    book_session(api.state, member="giulia", machine="laser-1", started=started, minutes=6)
    api.state.acl.members_changed()
    spent = next_acl(acl_probe, "laser-1", lambda acl: (_credit_of(acl) or 0) < 600)
    # 6 minutes unlocked, 4 running: 2.00 € + 0.44 € VAT; 3.66 € left buys 6 minutes.
    assert spent.entries[0].credit_s == 360.0
    assert spent.entries[0].credit_until == int(started.timestamp() * 1000) + 360_000


def test_a_pack_sold_to_her_with_no_money_lets_her_in_for_its_hours(
    api: Api, acl_probe: MqttProbe
) -> None:
    staff = _credit_required(api)
    api.state.acl.members_changed()
    next_acl(acl_probe, "laser-1", lambda acl: _credit_of(acl) == 0.0)
    product = api.client.post(
        "/api/v1/packs",
        json={
            "name": "2 ore laser",
            "meter": "running_minutes",
            "quantity": 7_200_000,
            "price_cents": 5_000,
            "valid_days": 30,
            "machine": "laser-1",
        },
        headers=staff,
    ).json()
    sold = api.client.post(
        "/api/v1/members/giulia/packs", json={"product_id": product["id"]}, headers=staff
    )
    assert sold.status_code == 201, sold.text
    # Not a cent of credit, two hours of pack: her entry carries the two hours.
    packed = next_acl(acl_probe, "laser-1", lambda acl: _credit_of(acl) == 7_200.0)
    assert packed.entries[0].credit_until is None


def test_packs_are_sold_and_a_member_reads_only_her_own_credit(api: Api) -> None:
    staff = _credit_required(api)
    client = api.client
    product = client.post(
        "/api/v1/packs",
        json={
            "name": "10 ore laser",
            "meter": "running_minutes",
            "quantity": 36_000_000,
            "price_cents": 20_000,
            "vat": "22",
            "valid_days": 180,
            "machine": "laser-1",
        },
        headers=staff,
    )
    assert product.status_code == 201, product.text
    sold = client.post(
        "/api/v1/members/giulia/packs", json={"product_id": product.json()["id"]}, headers=staff
    )
    assert sold.status_code == 201, sold.text
    assert (sold.json()["left"], sold.json()["vat_bp"]) == (36_000_000, 2200)
    client.post("/api/v1/members/giulia/credit/top-ups", json={"amount_cents": 500}, headers=staff)

    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    own = client.get("/api/v1/members/giulia/credit", headers=giulia)
    assert own.status_code == 200
    assert own.json()["balance_cents"] == 500
    assert [p["name"] for p in own.json()["packs"]] == ["10 ore laser"]
    assert client.get("/api/v1/members/marco/credit", headers=giulia).status_code == 403
    assert [p["name"] for p in client.get("/api/v1/packs", headers=giulia).json()] == [
        "10 ore laser"
    ]


def test_a_pack_is_edited_and_retired_and_packs_sold_keep_their_terms(api: Api) -> None:
    staff = _credit_required(api)
    client = api.client
    body = {
        "name": "2 ore laser",
        "meter": "running_minutes",
        "quantity": 7_200_000,
        "price_cents": 5_000,
        "valid_days": 30,
    }
    product = client.post("/api/v1/packs", json=body, headers=staff).json()
    client.post("/api/v1/packs", json={**body, "name": "5 ore laser"}, headers=staff)
    sold = client.post(
        "/api/v1/members/giulia/packs", json={"product_id": product["id"]}, headers=staff
    ).json()
    path = f"/api/v1/packs/{product['id']}"

    edited = client.put(
        path,
        json={"name": "2 ore laser (2027)", "price_cents": 5_500, "valid_days": 60},
        headers=staff,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["price_cents"], edited.json()["valid_days"]) == (5_500, 60)
    [kept] = client.get("/api/v1/members/giulia/credit", headers=staff).json()["packs"]
    assert (kept["price_cents"], kept["valid_until"]) == (5_000, sold["valid_until"])
    for change, field in (
        ({}, "price_cents"),
        ({"price_cents": -1}, "price_cents"),
        ({"valid_days": 0}, "valid_days"),
        ({"colour": "red"}, "colour"),
        ({"name": "5 ore laser"}, "name"),
    ):
        refused = client.put(path, json=change, headers=staff)
        assert refused.status_code == 422 and field in refused.text, (change, refused.text)
    assert (
        client.put("/api/v1/packs/999", json={"price_cents": 1}, headers=staff).status_code == 404
    )
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    assert client.put(path, json={"price_cents": 1}, headers=giulia).status_code == 403

    retired = client.post(f"{path}/retire", headers=staff)
    assert retired.status_code == 200 and retired.json()["retired_at"] is not None
    on_sale = client.get("/api/v1/packs", headers=staff).json()
    assert [p["name"] for p in on_sale] == ["5 ore laser"]
    again = client.post(
        "/api/v1/members/giulia/packs", json={"product_id": product["id"]}, headers=staff
    )
    assert again.status_code == 422 and "product" in again.text
    assert client.put(path, json={"price_cents": 1}, headers=staff).status_code == 409
    assert client.post(f"{path}/retire", headers=staff).status_code == 409
    # The pack she bought is hers as it was.
    [still] = client.get("/api/v1/members/giulia/credit", headers=staff).json()["packs"]
    assert (still["name"], still["left"]) == ("2 ore laser", 7_200_000)


def test_bad_credit_input_is_refused_naming_the_field(api: Api) -> None:
    staff = _credit_required(api)
    client = api.client
    for body, field in (
        ({"amount_cents": 0}, "amount_cents"),
        ({"amount_cents": "lots"}, "amount_cents"),
        ({"amount_cents": 100, "extra": 1}, "extra"),
    ):
        answer = client.post("/api/v1/members/giulia/credit/top-ups", json=body, headers=staff)
        assert answer.status_code == 422, answer.text
        assert field in answer.text
    taken = client.post(
        "/api/v1/members/giulia/credit/take-backs",
        json={"amount_cents": 100, "note": "typed twice"},
        headers=staff,
    )
    assert taken.status_code == 422 and "amount" in taken.text
    unknown = client.post("/api/v1/members/giulia/packs", json={"product_id": 99}, headers=staff)
    assert unknown.status_code == 422 and "product" in unknown.text
    nobody = client.post(
        "/api/v1/members/nobody/credit/top-ups", json={"amount_cents": 100}, headers=staff
    )
    assert nobody.status_code == 404


def test_her_credit_is_in_her_export_and_erasure_keeps_the_amounts_not_her_name(
    api: Api,
) -> None:
    staff = _credit_required(api)
    client = api.client
    client.post(
        "/api/v1/members/giulia/credit/top-ups",
        json={"amount_cents": 1_500, "note": "Giulia Rossi, contanti"},
        headers=staff,
    )
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    export = client.get("/api/v1/members/giulia/export", headers=giulia).json()
    assert [(m["kind"], m["amount_cents"]) for m in export["credit"]] == [("top_up", 1_500)]
    assert export["packs"] == []

    admin = api.add_login("admin", Role.ADMIN)
    assert client.post("/api/v1/members/giulia/erase", headers=admin).status_code == 200

    ledger = api.state.billing.ledger
    assert ledger.credit_movements("giulia") == []
    balances = ledger.credit_balances()
    [(stand_in, cents)] = balances.items()
    assert cents == 1_500 and stand_in != "giulia"
    [moved] = ledger.credit_movements(stand_in)
    assert "Giulia" not in moved.note and "Rossi" not in moved.note
