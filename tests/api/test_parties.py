"""A member's billing parties over the api: staff write, a member reads her own, nobody else."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from harness.mosquitto import MosquittoServer
from services.api.security import Role
from services.ledger import BillingPartyRow
from tests.api.conftest import Api, make_settings, running_api, seed_registry
from tests.fiscal.identifier_strategies import codici_fiscali, partite_iva, with_wrong_check

PARTIES = "/api/v1/members/{member}/parties"
GIULIA_CARD = "ab" * 32
MARCO_CARD = "cd" * 32


def giulia_herself(**changes: Any) -> dict[str, Any]:
    """Giulia billed as a private person."""
    return {
        "label": "Io",
        "kind": "person",
        "first_name": "Giulia",
        "last_name": "Rossi",
        "fiscal_code": "RSSGLI90A41L219Q",
        "street": "Via Nizza",
        "civic_number": "40",
        "cap": "10125",
        "comune": "Torino",
        "provincia": "TO",
    } | changes


def giulias_company(**changes: Any) -> dict[str, Any]:
    """Giulia's company, reached by its SdI recipient code."""
    return {
        "label": "Bottega",
        "kind": "organisation",
        "name": "Rossi Prototipi S.r.l.",
        "vat_number": "02727250017",
        "street": "Corso Francia",
        "cap": "10138",
        "comune": "Torino",
        "provincia": "TO",
        "recipient_code": "A1B2C3D",
    } | changes


def refused_field(answer: Any) -> str:
    """The field a 422 names."""
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    return str(problem["loc"][-1])


def seeded(api: Api) -> dict[str, dict[str, str]]:
    """Giulia and Marco with a card each, and a login of every kind."""
    seed_registry(api)
    api.state.registry.add_card(site=api.site, card_hash=GIULIA_CARD, member="giulia")
    api.state.registry.add_card(site=api.site, card_hash=MARCO_CARD, member="marco")
    return {
        "staff": api.add_login("coord", Role.COORDINATOR),
        "giulia": api.add_login("giulia", Role.MEMBER, member="giulia"),
        "marco": api.add_login("marco", Role.MEMBER, member="marco"),
    }


def test_staff_keep_a_members_parties_and_she_reads_only_her_own(api: Api) -> None:
    logins = seeded(api)
    staff, url = logins["staff"], PARTIES.format(member="giulia")
    created = api.client.post(
        url, json=giulia_herself(fiscal_code="rssgli90a41l219q"), headers=staff
    )
    assert created.status_code == 201, created.text
    herself = created.json()
    assert herself["fiscal_code"] == "RSSGLI90A41L219Q" and herself["is_default"]
    company = api.client.post(url, json=giulias_company(), headers=staff).json()
    assert not company["is_default"]

    as_giulia = api.client.get(url, headers=logins["giulia"])
    assert [p["label"] for p in as_giulia.json()] == ["Io", "Bottega"]
    one = api.client.get(f"{url}/{company['id']}", headers=logins["giulia"])
    assert one.json()["recipient_code"] == "A1B2C3D"
    assert api.client.get(url, headers=logins["marco"]).status_code == 403
    assert api.client.get(f"{url}/{company['id']}", headers=logins["marco"]).status_code == 403
    assert api.client.get(url).status_code == 401
    assert api.client.post(url, json=giulias_company(), headers=logins["giulia"]).status_code == 403
    assert api.client.delete(f"{url}/{company['id']}", headers=logins["giulia"]).status_code == 403
    # Marco's url does not reach Giulia's party.
    marco_url = PARTIES.format(member="marco")
    assert api.client.get(f"{marco_url}/{company['id']}", headers=staff).status_code == 404

    changed = api.client.patch(
        f"{url}/{company['id']}",
        json={"label": "Bottega srl", "pec": "rossi@pec.example.it"},
        headers=staff,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["label"], changed.json()["pec"]) == (
        "Bottega srl",
        "rossi@pec.example.it",
    )

    made = api.client.post(f"{url}/{company['id']}/default", headers=staff).json()
    assert made["is_default"]
    assert [p["is_default"] for p in api.client.get(url, headers=staff).json()] == [False, True]

    assigned = api.client.post(
        f"{url}/{herself['id']}/cards", json={"card_hash": GIULIA_CARD}, headers=staff
    )
    assert assigned.json()["cards"] == [GIULIA_CARD]
    [card] = api.client.get("/api/v1/cards", params={"member": "giulia"}, headers=staff).json()
    assert card["party_id"] == herself["id"]
    marcos = api.client.post(
        f"{url}/{herself['id']}/cards", json={"card_hash": MARCO_CARD}, headers=staff
    )
    assert refused_field(marcos) == "card_hash"

    # The default goes: Giulia's oldest party takes it, and the card goes back to the default.
    assert api.client.delete(f"{url}/{company['id']}", headers=staff).status_code == 204
    [left] = api.client.get(url, headers=staff).json()
    assert left["id"] == herself["id"] and left["is_default"]
    gone = api.client.delete(f"{url}/{herself['id']}/cards/{GIULIA_CARD}", headers=staff)
    assert gone.json()["cards"] == []
    assert api.client.delete(f"{url}/{herself['id']}", headers=staff).status_code == 204
    assert api.client.get(url, headers=staff).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (giulia_herself(fiscal_code="RSSGLI90A41L219R"), "fiscal_code"),
        (giulias_company(vat_number="02727250018"), "vat_number"),
        (giulias_company(recipient_code=None), "recipient_code"),
        (giulias_company(cap="1013"), "cap"),
        (giulias_company(provincia="ZZ"), "provincia"),
        (giulias_company(kind="cooperative"), "kind"),
        (giulias_company(label=""), "label"),
        (giulias_company(iban="IT60X0542811101000000123456"), "iban"),
    ],
)
def test_a_party_that_cannot_be_billed_is_refused_naming_the_field_and_counted(
    sqlite_api: Api, body: dict[str, Any], field: str
) -> None:
    staff = seeded(sqlite_api)["staff"]
    url = PARTIES.format(member="giulia")
    before = sum(sqlite_api.state.rejections.snapshot().values())
    assert refused_field(sqlite_api.client.post(url, json=body, headers=staff)) == field
    assert sum(sqlite_api.state.rejections.snapshot().values()) == before + 1
    assert sqlite_api.client.get(url, headers=staff).json() == []


def test_a_change_that_breaks_a_party_is_refused_and_the_party_stays_as_it_was(api: Api) -> None:
    staff = seeded(api)["staff"]
    url = PARTIES.format(member="giulia")
    company = api.client.post(url, json=giulias_company(), headers=staff).json()
    broken = api.client.patch(
        f"{url}/{company['id']}", json={"recipient_code": None}, headers=staff
    )
    assert refused_field(broken) == "recipient_code"
    assert api.client.get(f"{url}/{company['id']}", headers=staff).json() == company


@pytest.fixture(scope="module")
def shared_api(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: MosquittoServer
) -> Iterator[tuple[Api, dict[str, str]]]:
    """One api for the property tests, whose examples each add a party."""
    url = f"sqlite:///{tmp_path_factory.mktemp('parties') / 'ledger.sqlite3'}"
    for api in running_api(make_settings(url, mosquitto, f"site-{secrets.token_hex(4)}")):
        yield api, seeded(api)["staff"]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(code=codici_fiscali(), number=partite_iva(), replacement=st.characters(codec="ascii"))
def test_any_valid_identifier_is_accepted_and_one_changed_check_character_refused(
    shared_api: tuple[Api, dict[str, str]], code: str, number: str, replacement: str
) -> None:
    api, staff = shared_api
    url = PARTIES.format(member="marco")
    person = giulia_herself(fiscal_code=code)
    assert api.client.post(url, json=person, headers=staff).json()["fiscal_code"] == code
    bad_code = giulia_herself(fiscal_code=with_wrong_check(code, replacement))
    assert refused_field(api.client.post(url, json=bad_code, headers=staff)) == "fiscal_code"
    firm = giulias_company(vat_number=number)
    assert api.client.post(url, json=firm, headers=staff).json()["vat_number"] == number
    bad_number = giulias_company(vat_number=with_wrong_check(number, replacement))
    assert refused_field(api.client.post(url, json=bad_number, headers=staff)) == "vat_number"


def test_her_export_carries_her_parties_and_her_erasure_deletes_them(api: Api) -> None:
    logins = seeded(api)
    staff, url = logins["staff"], PARTIES.format(member="giulia")
    herself = api.client.post(url, json=giulia_herself(), headers=staff).json()
    api.client.post(url, json=giulias_company(), headers=staff)
    api.client.post(f"{url}/{herself['id']}/cards", json={"card_hash": GIULIA_CARD}, headers=staff)
    api.client.post(PARTIES.format(member="marco"), json=giulias_company(), headers=staff)

    export = api.client.get("/api/v1/members/giulia/export", headers=logins["giulia"]).json()
    assert [p["label"] for p in export["parties"]] == ["Io", "Bottega"]
    assert export["parties"][0]["fiscal_code"] == "RSSGLI90A41L219Q"
    assert export["parties"][0]["cards"] == [GIULIA_CARD]
    assert [c["party_id"] for c in export["cards"]] == [herself["id"]]

    admin = api.add_login("admin", Role.ADMIN)
    erased = api.client.post("/api/v1/members/giulia/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["parties_removed"] == 2
    assert api.client.get(url, headers=staff).json() == []
    with api.state.open_db() as db:
        names = db.scalars(select(BillingPartyRow.name)).all()
    assert names == ["Rossi Prototipi S.r.l."]  # Marco's party stays
    # An erased member gets no new party.
    assert refused_field(api.client.post(url, json=giulia_herself(), headers=staff)) == "member"
