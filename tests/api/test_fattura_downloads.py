"""A fattura workshop issues a month over the api; each document is stored and downloadable.

The api runs on SQLite and PostgreSQL with a real broker; the XML is checked against the
Agenzia's schema and read back by python-a38; the bundle holds exactly the stored files and the
register, in Italian, adds up to the ledger's cents. A member fetches her own file only.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import xmlschema

from harness.mosquitto import MosquittoServer
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from services.billing.months import Month
from services.billing.settings import BillingSettings, Workshop
from services.billing.tariffs import Tariff
from tests.api.chromium import Chromium
from tests.api.conftest import (
    PASSWORD,
    Api,
    add_login_directly,
    book_session,
    make_settings,
    running_api,
    seed_registry,
    seed_registry_of,
    served_api,
)
from tests.api.test_parties import giulias_company
from tests.billing.test_fiscal_documents import a38_total, cents, xml_text
from tests.fatturapa_schema import fatturapa_schema
from tests.fiscal.examples import workshop
from tests.waiting import eventually

__all__ = ["fatturapa_schema"]

MONTH = "2026-03"
STATEMENTS = "/api/v1/statements"
ROME = ZoneInfo("Europe/Rome")
MARCO_HIMSELF = {
    "label": "Io",
    "kind": "person",
    "first_name": "Marco",
    "last_name": "Bianchi",
    "fiscal_code": "RSSGLI90A41L219Q",
    "street": "Via Po",
    "cap": "10124",
    "comune": "Torino",
    "provincia": "TO",
    "pec": "marco@pec.example.it",
}


@pytest.fixture
def fattura_api(ledger_url: str, mosquitto: MosquittoServer, site: str) -> Iterator[Api]:
    """The api of a workshop that bills in fattura mode, on SQLite and on PostgreSQL."""
    billing = BillingSettings(workshop=Workshop(name="Officina Condivisa", fiscal=workshop()))
    yield from running_api(make_settings(ledger_url, mosquitto, site, billing=billing))


def month_used(api: Api) -> dict[str, dict[str, str]]:
    """Giulia and Marco used the lathe in March; logins of each kind; the drafts made."""
    seed_registry(api)
    logins = {
        "staff": api.add_login("coord", Role.COORDINATOR),
        "admin": api.add_login("admin", Role.ADMIN),
        "giulia": api.add_login("giulia", Role.MEMBER, member="giulia"),
    }
    tariff = {"valid_from": "2026-01-01", "per_running_minute": "0,35", "vat": "22"}
    assert api.client.post("/api/v1/tariffs", json=tariff, headers=logins["staff"]).is_success
    for n, member in enumerate(("giulia", "marco")):
        started = datetime(2026, 3, 10 + n, 9, tzinfo=UTC)
        book_session(api.state, member=member, machine="lathe-1", started=started, minutes=31)
    drafts = api.client.post(f"{STATEMENTS}/drafts", json={"month": MONTH}, headers=logins["staff"])
    assert drafts.json()["made"] == 2
    return logins


def give_party(api: Api, member: str, party: dict[str, Any], staff: dict[str, str]) -> None:
    """A member's first billing party, her default."""
    answer = api.client.post(f"/api/v1/members/{member}/parties", json=party, headers=staff)
    assert answer.status_code == 201, answer.text


def statements(api: Api, headers: dict[str, str]) -> list[dict[str, Any]]:
    """March's statements and credit notes as the api lists them."""
    answer = api.client.get(STATEMENTS, params={"month": MONTH}, headers=headers)
    return list(answer.json())


def issue_month(api: Api, admin: dict[str, str]) -> str:
    """Issue March; the local month the documents were issued in."""
    answer = api.client.post(f"{STATEMENTS}/issue", json={"month": MONTH}, headers=admin)
    assert answer.status_code == 200, answer.text
    issued_at = datetime.fromisoformat(statements(api, admin)[0]["issued_at"])
    return issued_at.astimezone(ROME).strftime("%Y-%m")


def test_an_issued_month_is_stored_fatturapa_bundled_and_registered_to_the_cent(
    fattura_api: Api, fatturapa_schema: xmlschema.XMLSchema
) -> None:
    api = fattura_api
    logins = month_used(api)
    admin = logins["admin"]
    give_party(api, "giulia", giulias_company(), logins["staff"])
    give_party(api, "marco", MARCO_HIMSELF, logins["staff"])
    issued_in = issue_month(api, admin)
    giulias = next(s for s in statements(api, admin) if s["member"] == "giulia")
    credit = api.client.post(
        f"{STATEMENTS}/{giulias['id']}/credit-note",
        json={"reason": "tornio fermo", "net": "1.00", "vat": "22"},
        headers=admin,
    )
    assert credit.status_code == 201, credit.text

    files = {}
    for statement in statements(api, admin):
        answer = api.client.get(f"{STATEMENTS}/{statement['id']}/fattura.xml", headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/xml")
        assert answer.headers["cache-control"] == "no-store"
        fatturapa_schema.validate(answer.content.decode())
        sign = -1 if statement["kind"] == "credit_note" else 1
        assert a38_total(answer.content) == Decimal(sign * statement["total_cents"]).scaleb(-2)
        name = answer.headers["content-disposition"].split('"')[1]
        files[name] = answer.content
    assert sorted(files) == [f"IT12345670017_0000{n}.xml" for n in (1, 2, 3)]
    td04 = files["IT12345670017_00003.xml"]
    assert xml_text(td04, "//TipoDocumento") == ["TD04"]
    assert xml_text(td04, "//DatiFattureCollegate/IdDocumento") == [giulias["number"]]

    bundle = api.client.get(f"{STATEMENTS}/fiscal/{issued_in}/bundle.zip", headers=admin)
    assert bundle.status_code == 200 and bundle.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        zipped = {n: archive.read(n) for n in archive.namelist() if n.endswith(".xml")}
    assert zipped == files

    register = api.client.get(
        f"{STATEMENTS}/register/{issued_in}.csv", params={"lang": "it"}, headers=admin
    )
    assert register.status_code == 200, register.text
    rows = list(csv.DictReader(io.StringIO(register.text), delimiter=";"))
    ledger = {s["number"]: s["total_cents"] for s in statements(api, admin)}
    assert {row["numero"]: cents(row["totale"]) for row in rows} == ledger
    assert [row["tipo"] for row in rows] == ["TD01", "TD01", "TD04"]
    as_json = api.client.get(f"{STATEMENTS}/register/{issued_in}.json", headers=admin).json()
    assert [d["number"] for d in as_json["documents"]] == [row["numero"] for row in rows]

    # Giulia fetches her own file, and is refused Marco's and the month's exports.
    marcos = next(s for s in statements(api, admin) if s["member"] == "marco")
    giulia = logins["giulia"]
    assert api.client.get(f"{STATEMENTS}/{giulias['id']}/fattura.xml", headers=giulia).is_success
    assert (
        api.client.get(f"{STATEMENTS}/{marcos['id']}/fattura.xml", headers=giulia).status_code
        == 403
    )
    assert (
        api.client.get(f"{STATEMENTS}/fiscal/{issued_in}/bundle.zip", headers=giulia).status_code
        == 403
    )


def test_a_member_without_a_party_refuses_the_issue_naming_it_and_nothing_is_numbered(
    fattura_api: Api,
) -> None:
    api = fattura_api
    logins = month_used(api)
    admin = logins["admin"]
    give_party(api, "giulia", giulias_company(), logins["staff"])
    refused = api.client.post(f"{STATEMENTS}/issue", json={"month": MONTH}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == "party"
    assert [s["number"] for s in statements(api, admin)] == [None, None]

    give_party(api, "marco", MARCO_HIMSELF | {"pec": None}, logins["staff"])
    refused = api.client.post(f"{STATEMENTS}/issue", json={"month": MONTH}, headers=admin)
    assert refused.json()["detail"][0]["loc"][-1] == "recipient_code"
    draft = statements(api, admin)[0]
    answer = api.client.get(f"{STATEMENTS}/{draft['id']}/fattura.xml", headers=admin)
    assert answer.status_code == 404 and "draft" in answer.json()["detail"]


def test_a_rendiconto_has_no_fattura_and_a_bad_month_is_refused_by_name(api: Api) -> None:
    logins = month_used(api)
    admin = logins["admin"]
    issue_month(api, admin)
    statement = statements(api, admin)[0]
    answer = api.client.get(f"{STATEMENTS}/{statement['id']}/fattura.xml", headers=admin)
    assert answer.status_code == 404 and "rendiconto" in answer.json()["detail"]
    for bad in ("2026-13", "26-03", "9999-12"):
        for path in (f"fiscal/{bad}/bundle.zip", f"register/{bad}.csv", f"register/{bad}.json"):
            refused = api.client.get(f"{STATEMENTS}/{path}", headers=admin)
            assert refused.status_code == 422, path
            assert refused.json()["detail"][0]["loc"] == ["path", "month"]
    missing = api.client.get(f"{STATEMENTS}/2147483647/fattura.xml", headers=admin)
    assert missing.status_code == 404


def test_the_treasurers_pages_link_the_fattura_the_bundle_and_the_register(
    fattura_api: Api,
) -> None:
    api = fattura_api
    logins = month_used(api)
    for member, party in (("giulia", giulias_company()), ("marco", MARCO_HIMSELF)):
        give_party(api, member, party, logins["staff"])
    issued_in = issue_month(api, logins["admin"])
    giulias = next(s for s in statements(api, logins["admin"]) if s["member"] == "giulia")

    api.add_login("treasurer", Role.COORDINATOR)
    login = {"username": "treasurer", "password": PASSWORD}
    assert api.client.post("/api/v1/login", json=login).is_success  # the page's cookie
    page = api.client.get(f"/manage/statements/{giulias['id']}", params={"lang": "en"})
    assert f'href="/manage/statements/{giulias["id"]}/fattura.xml"' in page.text
    assert ">FatturaPA XML<" in page.text
    month_page = api.client.get("/manage/statements", params={"month": issued_in, "lang": "en"})
    for link, words in (
        (f"/manage/statements/fiscal/{issued_in}/bundle.zip", "SdI bundle"),
        (f"/manage/statements/register/{issued_in}.csv", "Register CSV"),
        (f"/manage/statements/register/{issued_in}.json", "Register JSON"),
    ):
        assert f'href="{link}">{words}<' in month_page.text
        download = api.client.get(link)
        assert download.status_code == 200 and download.headers["cache-control"] == "no-store"
    xml = api.client.get(f"/manage/statements/{giulias['id']}/fattura.xml")
    stored = api.client.get(f"{STATEMENTS}/{giulias['id']}/fattura.xml", headers=logins["admin"])
    assert xml.content == stored.content
    refused = api.client.get("/manage/statements/register/2026-13.csv")
    assert refused.status_code == 422 and "month" in refused.text


def test_in_a_browser_the_treasurer_issues_and_saves_the_stored_fatturapa(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    billing = BillingSettings(workshop=Workshop(name="Officina Condivisa", fiscal=workshop()))
    settings = make_settings(sqlite_url, mosquitto, site, billing=billing)
    with served_api(settings) as running:
        state = running.state
        seed_registry_of(state, site)
        state.billing.ledger.add_tariff(
            Tariff(valid_from=date(2026, 1, 1), site=site, per_running_minute=500_000, vat_bp=2200)
        )
        started = datetime(2026, 3, 10, 9, tzinfo=UTC)
        book_session(state, member="giulia", machine="lathe-1", started=started, minutes=30)
        state.billing.make_drafts(Month.parse(MONTH))
        (draft,) = state.billing.ledger.statements(Month.parse(MONTH))
        add_login_directly(state, "treasurer", Role.ADMIN)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "treasurer", "password": PASSWORD}
        ).json()["access_token"]
        added = httpx.post(
            f"{running.url}/api/v1/members/giulia/parties",
            json=giulias_company(),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert added.status_code == 201, added.text
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        with Chromium(profile=tmp_path / "chromium", width=1280, height=900) as browser:
            browser.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            browser.open(f"{running.url}/manage/statements/{draft.id}?lang=en")
            assert browser.evaluate("document.querySelector('a[data-fattura]')") is None
            browser.evaluate("document.querySelector('#issue button').click()")
            browser.wait_for("document.querySelector('[data-status=\"issued\"]')")
            browser.send("Page.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
            link = "document.querySelector('a[data-fattura]')"
            assert browser.evaluate(f"{link}.textContent") == "FatturaPA XML"
            browser.evaluate(f"{link}.click()")
            eventually(
                lambda: any(p.suffix == ".xml" for p in downloads.iterdir()),
                what="the browser to save the FatturaPA file",
            )
        (saved,) = downloads.glob("*.xml")
        stored = state.billing.ledger.fiscal_document(draft.id)
        assert stored is not None
        assert (saved.name, saved.read_bytes()) == (stored.file_name, stored.xml)


def test_issuing_from_the_page_without_a_party_is_a_page_naming_the_field(
    fattura_api: Api,
) -> None:
    api = fattura_api
    month_used(api)
    api.add_login("treasurer", Role.ADMIN)
    login = api.client.post("/api/v1/login", json={"username": "treasurer", "password": PASSWORD})
    form = {"month": MONTH, "csrf": login.json()["csrf"]}
    refused = api.client.post("/manage/statements/issue", data=form, follow_redirects=False)
    assert refused.status_code == 422 and "party" in refused.text
    assert [s.number for s in api.state.billing.ledger.statements(Month.parse(MONTH))] == [
        None,
        None,
    ]
