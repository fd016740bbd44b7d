"""Sessions filtered by member, machine and period, as JSON and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.api.security import Role
from tests.api.conftest import Api, book_session, seed_registry

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _seed(api: Api) -> None:
    seed_registry(api)
    book_session(api.state, member="giulia", machine="lathe-1", started=MARCH, minutes=30)
    book_session(
        api.state, member="giulia", machine="laser-1", started=MARCH + timedelta(days=1), minutes=15
    )
    book_session(
        api.state, member="marco", machine="lathe-1", started=MARCH + timedelta(days=40), minutes=60
    )


def test_sessions_are_filtered_by_member_machine_and_period(api: Api) -> None:
    _seed(api)
    staff = api.add_login("coord", Role.COORDINATOR)

    def machines(**params: str) -> list[tuple[str, str]]:
        rows = api.client.get("/api/v1/sessions", params=params, headers=staff).json()
        return [(r["member"], r["machine"]) for r in rows]

    assert machines() == [("giulia", "lathe-1"), ("giulia", "laser-1"), ("marco", "lathe-1")]
    assert machines(member="giulia") == [("giulia", "lathe-1"), ("giulia", "laser-1")]
    assert machines(machine="lathe-1") == [("giulia", "lathe-1"), ("marco", "lathe-1")]
    march = {"since": "2026-03-01T00:00:00+01:00", "until": "2026-04-01T00:00:00+02:00"}
    assert machines(**march) == [("giulia", "lathe-1"), ("giulia", "laser-1")]


def test_a_member_gets_their_own_sessions_without_asking(api: Api) -> None:
    _seed(api)
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    rows = api.client.get("/api/v1/sessions", headers=giulia).json()
    assert {r["member"] for r in rows} == {"giulia"} and len(rows) == 2


def test_the_csv_export_has_a_header_and_one_row_per_session(api: Api) -> None:
    _seed(api)
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    answer = api.client.get("/api/v1/sessions.csv", params={"machine": "lathe-1"}, headers=giulia)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text), delimiter=";"))  # Italian by default
    assert len(rows) == 1
    assert rows[0]["member"] == "giulia" and rows[0]["running_s"] == "1200,000"
    assert rows[0]["started"] == "2026-03-10T10:00:00+01:00"  # the site's zone, with its offset


def test_the_csv_export_follows_the_readers_language_with_energy_in_kwh(api: Api) -> None:
    _seed(api)
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    laser = {"machine": "laser-1"}
    [session] = api.client.get("/api/v1/sessions", params=laser, headers=giulia).json()
    kwh = Decimal(str(session["energy_wh"])) / 1000
    by_language = {}
    for lang, separator, mark in (("it", ";", ","), ("en", ",", ".")):
        params = laser | {"lang": lang}
        answer = api.client.get("/api/v1/sessions.csv", params=params, headers=giulia)
        [row] = csv.DictReader(io.StringIO(answer.text), delimiter=separator)
        assert "energy_wh" not in row
        assert Decimal(row["energy_kwh"].replace(mark, ".")) == kwh
        by_language[lang] = row
    assert by_language["en"]["running_s"] == "600.000"  # 15 minutes unlocked, 10 of them running
    assert by_language["it"]["running_s"] == "600,000"


def test_a_period_that_ends_before_it_starts_is_refused(api: Api) -> None:
    staff = api.add_login("coord", Role.COORDINATOR)
    answer = api.client.get(
        "/api/v1/sessions",
        params={"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        headers=staff,
    )
    assert answer.status_code == 422 and "until" in answer.text
