"""The billing-party pages: staff add a party in a real browser; the member reads hers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from harness.mosquitto import MosquittoServer
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from services.billing.settings import settings_from
from tests.api.chromium import Chromium
from tests.api.conftest import (
    PASSWORD,
    Api,
    add_login_directly,
    make_settings,
    running_api,
    served_api,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FORM = "document.getElementById('add-party')"
COMPANY = {
    "label": "Bottega",
    "name": "Rossi Prototipi S.r.l.",
    "vat_number": "02727250018",  # the check digit is 7
    "street": "Corso Francia",
    "cap": "10138",
    "comune": "Torino",
    "provincia": "TO",
    "recipient_code": "A1B2C3D",
}


def _fill(browser: Chromium, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        browser.evaluate(
            f"{FORM}.elements.namedItem({json.dumps(name)}).value = {json.dumps(value)}"
        )


def test_staff_add_a_party_and_see_a_wrong_partita_iva_named_beside_its_field(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        running.state.registry.add_member(member_id="giulia", name="Giulia Rossi")
        add_login_directly(running.state, "coord", Role.COORDINATOR)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "coord", "password": PASSWORD}
        ).json()["access_token"]
        parties_url = f"{running.url}/api/v1/members/giulia/parties"
        with Chromium(profile=tmp_path / "chromium") as browser:
            browser.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            browser.open(f"{running.url}/manage/members/giulia/parties?lang=en")
            browser.wait_for(f"{FORM} !== null")
            assert "No billing party yet" in browser.evaluate("document.body.textContent")
            browser.evaluate(f"{FORM}.elements.namedItem('kind').value = 'organisation'")
            _fill(browser, COMPANY)
            browser.evaluate(f"{FORM}.requestSubmit()")

            note = "document.querySelector('.field-error')"
            browser.wait_for(f"{note} !== null")
            assert browser.evaluate(f"{note}.dataset.field") == "vat_number"
            beside = f"{FORM}.elements.namedItem('vat_number').closest('label').nextElementSibling"
            assert browser.evaluate(f"{beside} === {note}")
            assert "partita IVA" in browser.evaluate(f"{note}.textContent")
            browser.screenshot(ARTIFACTS / "parties-refused.png")
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(parties_url, headers=headers).json() == []

            _fill(browser, {"vat_number": "02727250017"})
            browser.evaluate(f"{FORM}.requestSubmit()")
            browser.wait_for("document.querySelector('section[data-party]') !== null")
            shown = browser.evaluate("document.querySelector('section[data-party]').textContent")
            assert "Rossi Prototipi S.r.l." in shown and "(Default)" in shown
            assert "Organisation" in shown and "02727250017" in shown
            [stored] = httpx.get(parties_url, headers=headers).json()
            assert (stored["vat_number"], stored["is_default"]) == ("02727250017", True)
            browser.screenshot(ARTIFACTS / "parties.png")

            # Changed in place: a cleared recipient code is refused beside its field, then a PEC
            # instead of the code is taken.
            edit = "document.querySelector('section[data-party] form[data-method=\"PATCH\"]')"
            browser.evaluate(f"{edit}.elements.namedItem('recipient_code').value = ''")
            browser.evaluate(f"{edit}.requestSubmit()")
            browser.wait_for(f"{edit}.querySelector('.field-error') !== null")
            assert browser.evaluate(f"{edit}.querySelector('.field-error').dataset.field") == (
                "recipient_code"
            )
            browser.evaluate(f"{edit}.elements.namedItem('pec').value = 'rossi@pec.example.it'")
            browser.evaluate(f"{edit}.requestSubmit()")
            browser.wait_for("document.body.textContent.includes('rossi@pec.example.it')")
            [changed] = httpx.get(parties_url, headers=headers).json()
            assert (changed["recipient_code"], changed["pec"]) == (None, "rossi@pec.example.it")


def test_a_member_reads_her_parties_in_her_language_and_may_not_change_them(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    api.state.registry.add_member(member_id="giulia", name="Giulia Rossi")
    api.state.registry.add_member(member_id="marco", name="Marco Bianchi")
    staff = api.add_login("coord", Role.COORDINATOR)
    body = {"label": "Io", "kind": "person", "first_name": "Giulia", "last_name": "Rossi"}
    body |= {"fiscal_code": "RSSGLI90A41L219Q", "street": "Via Nizza", "cap": "10125"}
    body |= {"comune": "Torino", "provincia": "TO"}
    assert api.client.post("/api/v1/members/giulia/parties", json=body, headers=staff).is_success
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    marco = api.add_login("marco", Role.MEMBER, member="marco")

    api.client.cookies.set(SESSION_COOKIE, giulia["Authorization"].removeprefix("Bearer "))
    month = api.client.get("/members/giulia/month")
    assert 'href="/members/giulia/parties"' in month.text
    page = api.client.get("/members/giulia/parties?lang=it")
    assert page.status_code == 200
    assert "Persona fisica" in page.text and "RSSGLI90A41L219Q" in page.text
    assert "(Predefinito)" in page.text and 'id="add-party"' not in page.text
    assert api.client.get("/manage/members/giulia/parties").status_code == 403

    api.client.cookies.set(SESSION_COOKIE, marco["Authorization"].removeprefix("Bearer "))
    assert api.client.get("/members/giulia/parties").status_code == 403
    api.client.cookies.set(SESSION_COOKIE, staff["Authorization"].removeprefix("Bearer "))
    members = api.client.get("/manage/members")
    assert 'href="/manage/members/giulia/parties"' in members.text


def test_staff_see_the_workshops_fiscal_profile_and_whether_it_can_issue_fatture(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    billing = settings_from(
        {
            "workshop": {
                "name": "Officine Zero",
                "vat_number": "IT12345670017",
                "fiscal": {
                    "legal_name": "Officine Zero Soc. Coop.",
                    "address": {
                        "street": "Via dei Mestieri",
                        "cap": "40121",
                        "comune": "Bologna",
                        "provincia": "BO",
                    },
                    "iban": "IT60X0542811101000000123456",
                    "billing_mode": "fattura",
                },
            }
        }
    )
    for api in running_api(make_settings(sqlite_url, mosquitto, site, billing=billing)):
        staff = api.add_login("coord", Role.COORDINATOR)
        answer = api.client.get("/api/v1/workshop/fiscal", headers=staff).json()
        assert answer["complete_for_fattura"] and answer["billing_mode"] == "fattura"
        assert answer["profile"]["vat_number"] == "12345670017"
        api.client.cookies.set(SESSION_COOKIE, staff["Authorization"].removeprefix("Bearer "))
        page = api.client.get("/manage/fiscal?lang=en")
        assert "Officine Zero Soc. Coop." in page.text
        assert 'data-fattura="complete"' in page.text and "Electronic invoices" in page.text
