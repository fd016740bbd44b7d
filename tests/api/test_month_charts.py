"""Month pages draw usage per day: a machine's month for staff, only one's own for a member."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from services.api.security import Role
from tests.api.conftest import PASSWORD, Api, book_session, seed_registry

SVG = "{http://www.w3.org/2000/svg}"


def _browse_as(api: Api, username: str, role: Role, member: str | None = None) -> None:
    """Log in the way the login page does: the client keeps the cookie."""
    api.add_login(username, role, member=member)
    answer = api.client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200


def _table(page: str, slug: str) -> dict[str, list[str | None]]:
    """A chart's hidden table, day by day: the numbers a screen reader hears."""
    found = re.search(rf'<table class="visually-hidden" id="{slug}-data">.*?</table>', page, re.S)
    assert found, f"no table for {slug}"
    table = ET.fromstring(found.group(0))
    body = table.find("tbody")
    assert body is not None
    return {str(row[0].text): [cell.text for cell in row[1:]] for row in body.iter("tr")}


def _svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg class=\"chart\".*?</svg>", page, re.S)]


def _seed_march(api: Api) -> None:
    """Giulia an hour on the lathe on the 10th, Marco two on the 12th, Giulia on the laser."""
    seed_registry(api)
    book_session(
        api.state,
        member="giulia",
        machine="lathe-1",
        started=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
        minutes=60,
        energy_wh=1500,
    )
    book_session(
        api.state,
        member="marco",
        machine="lathe-1",
        started=datetime(2026, 3, 12, 9, 0, tzinfo=UTC),
        minutes=120,
        energy_wh=2500,
    )
    book_session(
        api.state,
        member="giulia",
        machine="laser-1",
        started=datetime(2026, 3, 12, 15, 0, tzinfo=UTC),
        minutes=30,
    )


def test_a_machines_month_draws_its_hours_and_kwh_per_day(sqlite_api: Api) -> None:
    api = sqlite_api
    _seed_march(api)
    _browse_as(api, "coord", Role.COORDINATOR)

    page = api.client.get("/machines/lathe-1/month?month=2026-03&lang=en")

    assert page.status_code == 200
    text = page.text
    assert "Tornio" in text and "March 2026" in text
    assert 'href="?month=2026-02"' in text and 'href="?month=2026-04"' in text
    assert 'href="/machines/lathe-1/day?date=2026-03-01"' in text
    hours, energy = _svgs(text)
    assert hours.findtext(f"{SVG}title") == "Hours per day"
    assert energy.findtext(f"{SVG}title") == "Energy per day"
    # book_session runs two thirds of the time it is unlocked.
    hours_by_day = _table(text, "chart-hours")
    assert hours_by_day["10"] == ["0.7", "1.0"] and hours_by_day["12"] == ["1.3", "2.0"]
    assert hours_by_day["11"] == ["0.0", "0.0"] and len(hours_by_day) == 31
    kwh_by_day = _table(text, "chart-energy")
    assert kwh_by_day["10"] == ["1.50"] and kwh_by_day["12"] == ["2.50"]
    # The totals of the month: 2 of 3 hours running, 4 kWh.
    assert "<b>2.0</b>" in text and "<b>3.0</b>" in text and "<b>4.00</b>" in text


def test_the_machines_day_links_to_its_month(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    _browse_as(api, "coord", Role.COORDINATOR)

    day = api.client.get("/machines/lathe-1/day?date=2026-03-10&lang=en")

    assert day.status_code == 200
    assert 'href="/machines/lathe-1/month?month=2026-03"' in day.text


def test_a_member_sees_only_their_own_hours_on_a_machines_month(sqlite_api: Api) -> None:
    api = sqlite_api
    _seed_march(api)
    _browse_as(api, "giulia", Role.MEMBER, member="giulia")

    page = api.client.get("/machines/lathe-1/month?month=2026-03&lang=en")

    assert page.status_code == 200
    hours_by_day = _table(page.text, "chart-hours")
    assert hours_by_day["10"] == ["0.7", "1.0"]
    assert hours_by_day["12"] == ["0.0", "0.0"], "Marco's session shown to Giulia"
    assert "Only your own sessions" in page.text


def test_a_members_month_carries_the_same_charts_of_their_own_use(sqlite_api: Api) -> None:
    api = sqlite_api
    _seed_march(api)
    _browse_as(api, "giulia", Role.MEMBER, member="giulia")

    page = api.client.get("/members/giulia/month?month=2026-03&lang=it")

    assert page.status_code == 200
    assert len(_svgs(page.text)) == 2
    hours_by_day = _table(page.text, "chart-hours")
    # The lathe on the 10th; the laser's half hour on the 12th, not Marco's two hours.
    assert hours_by_day["10"] == ["0,7", "1,0"] and hours_by_day["12"] == ["0,3", "0,5"]
    assert "Ore al giorno" in page.text
    other = api.client.get("/members/marco/month?month=2026-03")
    assert other.status_code == 403 and "chart-hours" not in other.text


def test_the_month_pages_need_a_login_and_a_month_they_can_show(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    anonymous = api.client.get("/machines/lathe-1/month?month=2026-03", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")

    _browse_as(api, "coord", Role.COORDINATOR)
    for asked in ("2026-13", "1999-1", "9999-12", "march"):
        page = api.client.get(f"/machines/lathe-1/month?month={asked}")
        assert page.status_code == 422 and "month" in page.text, asked
    assert api.client.get("/machines/Not%20A%20Machine/month").status_code == 422
    assert api.client.get("/machines/drill-9/month?month=2026-03").status_code == 200
