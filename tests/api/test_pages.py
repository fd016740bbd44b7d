"""The web pages: logged in by cookie, in Italian or English, a member only on their own month."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from harness.mosquitto import MosquittoServer
from services.api.security import Role
from services.billing import formats
from services.billing.months import Month
from services.billing.settings import BillingSettings
from tests.api.conftest import (
    PASSWORD,
    Api,
    book_session,
    make_settings,
    running_api,
    seed_registry,
)


def _browse_as(api: Api, username: str, role: Role, member: str | None = None) -> None:
    """Log in the way the login page does: the client keeps the cookie."""
    api.add_login(username, role, member=member)
    answer = api.client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200


def test_a_page_without_login_sends_to_the_login_form(sqlite_api: Api) -> None:
    answer = sqlite_api.client.get("/floor", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/floor"
    form = sqlite_api.client.get("/login?next=//elsewhere.example")
    assert 'data-next="/"' in form.text and "Accedi" in form.text


def test_pages_speak_english_when_asked_and_remember_it(sqlite_api: Api) -> None:
    api = sqlite_api
    assert "Log in" in api.client.get("/login?lang=en").text
    assert "Log in" in api.client.get("/login", headers={"Accept-Language": "it"}).text
    api.client.cookies.clear()
    assert "Accedi" in api.client.get("/login", headers={"Accept-Language": "it"}).text
    assert "Log in" in api.client.get("/login", headers={"Accept-Language": "en-GB,en"}).text


def test_the_floor_page_has_a_tile_per_machine(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    _browse_as(api, "coord", Role.COORDINATOR)
    page = api.client.get("/floor?lang=it")
    assert page.status_code == 200
    assert 'data-machine="lathe-1"' in page.text and 'data-machine="laser-1"' in page.text
    assert "Tornio" in page.text and "Officina dal vivo" in page.text


def test_a_member_sees_their_month_and_not_anothers(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    started = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    book_session(api.state, member="giulia", machine="lathe-1", started=started, minutes=30)
    _browse_as(api, "giulia", Role.MEMBER, member="giulia")
    assert api.client.get("/", follow_redirects=False).headers["location"] == (
        "/members/giulia/month"
    )
    month = api.client.get("/members/giulia/month?month=2026-03&lang=en")
    assert month.status_code == 200
    assert "March 2026" in month.text and "lathe-1" in month.text and "20.0" in month.text
    other = api.client.get("/members/marco/month?lang=en")
    assert other.status_code == 403 and "You may not see this page" in other.text
    assert api.client.get("/manage/members").status_code == 403


def test_a_machines_day_puts_its_sessions_on_a_timeline(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    book_session(
        api.state,
        member="marco",
        machine="laser-1",
        started=datetime(2026, 3, 10, 11, 0, tzinfo=UTC),
        minutes=60,
    )
    _browse_as(api, "coord", Role.COORDINATOR)
    day = api.client.get("/machines/laser-1/day?date=2026-03-10&lang=en")
    assert day.status_code == 200
    # 12:00 in Rome is half the day: the bar starts at 50 %, an hour is 4.17 % wide.
    assert 'class="session" data-left="50.0" data-width="4.17"' in day.text
    assert "marco" in day.text


def test_coordinators_get_the_registry_pages(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    _browse_as(api, "coord", Role.COORDINATOR)
    for path, marker in (
        ("/manage/members", "Giulia Rossi"),
        ("/manage/cards", 'data-api="/api/v1/cards/enrol"'),
        ("/manage/qualifications", 'data-method="PUT"'),
        ("/manage/cost-pools?month=2026-03", 'value="2026-03"'),
    ):
        page = api.client.get(path)
        assert page.status_code == 200 and marker in page.text


def test_a_pages_amounts_are_written_as_statements_write_them_in_the_configured_currency(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    settings = make_settings(sqlite_url, mosquitto, site, billing=BillingSettings(currency="CHF"))
    for api in running_api(settings):
        seed_registry(api)
        staff = api.add_login("treasurer", Role.COORDINATOR)
        pool = {"month": "2026-03", "name": "Luce", "total": "1234.50", "key": "kwh"}
        assert api.client.post("/api/v1/cost-pools", json=pool, headers=staff).status_code == 201
        _browse_as(api, "coord", Role.COORDINATOR)
        page = api.client.get("/manage/cost-pools?month=2026-03&lang=en")
        assert page.status_code == 200
        assert formats.money(123_450, "CHF", "en") in page.text and "€" not in page.text


def test_a_month_a_page_cannot_show_is_a_422_naming_month(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    _browse_as(api, "coord", Role.COORDINATOR)
    this_month = Month.of(datetime.now(ZoneInfo("Europe/Rome")).date())
    for path in ("/manage/cost-pools", "/members/giulia/month"):
        for asked in ("2026-13", "1999-1", "9999-12", "march"):
            page = api.client.get(f"{path}?month={asked}")
            assert page.status_code == 422, (path, asked)
            assert "month" in page.text, (path, asked)
        shown = api.client.get(path)
        assert shown.status_code == 200, path
        assert f'href="?month={this_month.previous()}"' in shown.text, path


def test_a_member_page_lists_only_that_members_statements(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    started = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    book_session(api.state, member="giulia", machine="lathe-1", started=started, minutes=30)
    book_session(api.state, member="marco", machine="lathe-1", started=started, minutes=30)
    staff = api.add_login("treasurer", Role.COORDINATOR)
    pool = {"month": "2026-03", "name": "Luce", "total": "10.00", "key": "running_hours"}
    assert api.client.post("/api/v1/cost-pools", json=pool, headers=staff).status_code == 201
    made = api.client.post("/api/v1/statements/drafts", json={"month": "2026-03"}, headers=staff)
    assert made.json()["made"] == 2
    ids = {s.member: s.id for s in api.state.billing.ledger.statements(Month(2026, 3))}
    _browse_as(api, "giulia", Role.MEMBER, member="giulia")
    page = api.client.get("/members/giulia/month?month=2026-03")
    assert f"/api/v1/statements/{ids['giulia']}/pdf" in page.text
    assert f"/api/v1/statements/{ids['marco']}/pdf" not in page.text
