"""`pages_as_of`: the pages open on a given day instead of today, as the demo's do."""

from __future__ import annotations

from datetime import UTC, date, datetime

from typer.testing import CliRunner

from harness.mosquitto import MosquittoServer
from services.api.cli import app
from services.api.security import Role
from tests.api.conftest import PASSWORD, book_session, make_settings, running_api, seed_registry


def test_the_pages_open_on_the_day_they_are_set_to(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    settings = make_settings(sqlite_url, mosquitto, site, pages_as_of=date(2026, 3, 31))
    for api in running_api(settings):
        seed_registry(api)
        book_session(
            api.state,
            member="giulia",
            machine="lathe-1",
            started=datetime(2026, 3, 10, 8, 30, tzinfo=UTC),
            minutes=30,
        )
        api.add_login("coord", Role.COORDINATOR)
        login = api.client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
        assert login.status_code == 200
        month = api.client.get("/members/giulia/month?lang=en")
        assert month.status_code == 200
        assert "March 2026" in month.text and "lathe-1" in month.text
        day = api.client.get("/machines/lathe-1/day?lang=en")
        assert "?date=2026-03-30" in day.text and "?date=2026-04-01" in day.text
        # A month asked for still wins over the day the pages open on.
        asked = api.client.get("/members/giulia/month?month=2026-02&lang=en")
        assert "February 2026" in asked.text and "lathe-1" not in asked.text


def test_without_a_set_day_the_pages_open_on_the_api_clocks_today(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    # 00:30 on April 1st in Rome is still March 31st in UTC: the workshop's day counts.
    now = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)
    for api in running_api(make_settings(sqlite_url, mosquitto, site), clock=lambda: now):
        seed_registry(api)
        api.add_login("coord", Role.COORDINATOR)
        login = api.client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
        assert login.status_code == 200
        statements = api.client.get("/manage/statements?lang=en")
        assert statements.status_code == 200
        assert "April 2026" in statements.text and "?month=2026-03" in statements.text


def test_run_refuses_a_pages_as_of_that_is_no_date() -> None:
    result = CliRunner().invoke(
        app, ["run", "--site", "officina-1", "--pages-as-of", "2026-02-30"], env={}
    )
    assert result.exit_code == 2
    assert "--pages-as-of" in result.output
    from_env = CliRunner().invoke(
        app, ["run", "--site", "officina-1"], env={"OFFICINA_PAGES_AS_OF": "last month"}
    )
    assert from_env.exit_code == 2 and "--pages-as-of" in from_env.output
