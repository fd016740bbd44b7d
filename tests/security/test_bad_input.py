"""15.7: bad input is a 4xx naming the field, never a 500 (nor a 503 blaming the ledger)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from harness.mosquitto import MosquittoServer
from harness.sql import PostgresServer
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from tests.api.conftest import (
    PASSWORD,
    Api,
    add_login_directly,
    book_session,
    make_settings,
    running_api,
    seed_registry_of,
)
from tests.security.conftest import AttackLog

API = "/api/v1"


@dataclass(frozen=True)
class Site:
    """A running api with data, an admin's bearer headers and the cookies of staff and member."""

    api: Api
    admin: dict[str, str]
    staff_cookie: str
    member_cookie: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A ledger for the module: a SQLite file, then a PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('bad-input') / 'ledger.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture(scope="module")
def site(ledger: str, mosquitto: MosquittoServer) -> Iterator[Site]:
    """The api on a real ledger and the real broker, with members, machines, a session."""
    for api in running_api(make_settings(ledger, mosquitto, f"bad-{secrets.token_hex(3)}")):
        seed_registry_of(api.state, api.site)
        started = datetime(2026, 3, 2, 9, tzinfo=UTC)
        book_session(api.state, member="giulia", machine="lathe-1", started=started, minutes=5)
        add_login_directly(api.state, "boss", Role.ADMIN)
        add_login_directly(api.state, "giulia", Role.MEMBER, member="giulia")
        tokens = {}
        for username in ("boss", "giulia"):
            answer = api.client.post(
                f"{API}/login", json={"username": username, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            tokens[username] = answer.json()["access_token"]
        api.client.cookies.clear()
        yield Site(
            api=api,
            admin={"Authorization": f"Bearer {tokens['boss']}"},
            staff_cookie=tokens["boss"],
            member_cookie=tokens["giulia"],
        )


def _fields(answer_json: dict[str, list[dict[str, object]]]) -> set[str]:
    return {".".join(str(part) for part in problem["loc"]) for problem in answer_json["detail"]}  # type: ignore[attr-defined]


NOT_STRICT_JSON = [
    (
        "PUT",
        "/machines/drill-1",
        '{"name": "Drill", "gateway": "gw-1", "idle_amps": NaN, "run_amps": 4}',
        "body.idle_amps",
    ),
    (
        "PUT",
        "/machines/drill-1",
        '{"name": "Drill", "gateway": "gw-1", "idle_amps": 0.5, "run_amps": Infinity}',
        "body.run_amps",
    ),
    (
        "PUT",
        "/machines/drill-1",
        '{"name": "Drill", "gateway": "gw-1", "idle_amps": 0.5, '
        '"run_amps": 4, "min_dwell_s": -Infinity}',
        "body.min_dwell_s",
    ),
    (
        "PUT",
        "/machines/drill-1",
        '{"name": "Drill", "gateway": "gw-1", "idle_amps": 1e999, "run_amps": 4}',
        "body.idle_amps",
    ),
    ("POST", "/members", '{"id": "anna", "name": "Anna \\ud800"}', "body.name"),
    ("POST", "/members", '{"id": "anna", "name": "Anna \\u0000"}', "body.name"),
    (
        "POST",
        "/members",
        '{"id": "anna", "name": "Anna", "email": "a\\udfff@example.org"}',
        "body.email",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NOT_STRICT_JSON)
def test_nan_infinity_and_lone_surrogates_are_refused_naming_the_field(
    site: Site, attack: AttackLog, method: str, path: str, body: str, field: str
) -> None:
    attack.tried("15.7 bad input", f"{method} {path} with {body}")
    headers = {**site.admin, "Content-Type": "application/json"}
    answer = site.api.client.request(method, API + path, content=body.encode(), headers=headers)
    assert answer.status_code == 422, answer.text
    assert field in _fields(answer.json())
    assert site.api.state.rejections.snapshot().get(field, 0) >= 1
    attack.held(f"422 naming {field}, counted")


OUT_OF_RANGE_ROUTES = [
    ("GET", "/sessions?since=0001-01-01T00:00:00%2B01:00", "query.since"),
    ("GET", "/sessions?until=9999-12-31T23:59:59-01:00", "query.until"),
    ("GET", "/statements?month=9999-12", "query.month"),
    ("GET", "/statements?month=0001-01", "query.month"),
    ("GET", "/statements?month=2026-13", "query.month"),
    ("GET", "/cost-pools?month=0000-00", "query.month"),
    ("POST", "/users/99999999999999999999/disable", "path.user_id"),
    ("POST", "/users/9223372036854775808/disable", "path.user_id"),
    ("GET", "/statements/9223372036854775807", "path.statement_id"),
    ("GET", "/members/giulia/parties/2147483648", "path.party"),
    ("DELETE", "/members/giulia/parties/0", "path.party"),
]


@pytest.mark.parametrize(("method", "path", "field"), OUT_OF_RANGE_ROUTES)
def test_dates_months_and_ids_out_of_range_are_a_422_on_routes(
    site: Site, attack: AttackLog, method: str, path: str, field: str
) -> None:
    attack.tried("15.7 bad input", f"{method} {path}")
    answer = site.api.client.request(method, API + path, headers=site.admin)
    assert answer.status_code == 422, answer.text
    assert field in _fields(answer.json())
    attack.held(f"422 naming {field}")


_PARTY = {
    "label": "Io",
    "kind": "person",
    "first_name": "Giulia",
    "last_name": "Rossi",
    "fiscal_code": "RSSGLI90A41L219Q",
    "street": "Via Nizza",
    "cap": "10125",
    "comune": "Torino",
    "provincia": "TO",
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fiscal_code": "RSSGLI90A41L219R"}, "fiscal_code"),
        ({"vat_number": "02727250018", "pec": "g@pec.example.it"}, "vat_number"),
        ({"vat_number": "02727250017"}, "recipient_code"),
        ({"cap": "1O125"}, "cap"),
        ({"provincia": "XX"}, "provincia"),
        ({"kind": "cooperative"}, "body.kind"),
        ({"street": "Via \ud800"}, "body.street"),
    ],
)
def test_a_billing_party_the_fiscal_rules_refuse_is_a_422_naming_the_field(
    site: Site, attack: AttackLog, changes: dict[str, str], field: str
) -> None:
    attack.tried("15.7 bad input", f"POST a billing party with {sorted(changes)}")
    before = site.api.state.rejections.snapshot().get(field, 0)
    answer = site.api.client.post(
        f"{API}/members/giulia/parties",
        content=json.dumps(_PARTY | changes).encode(),
        headers={**site.admin, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert field.removeprefix("body.") in {f.removeprefix("body.") for f in _fields(answer.json())}
    assert site.api.state.rejections.snapshot().get(field, 0) == before + 1
    assert _parties(site) == []
    attack.held(f"422 naming {field}, counted, nothing stored")


def _parties(site: Site) -> list[dict[str, str]]:
    answer = site.api.client.get(f"{API}/members/giulia/parties", headers=site.admin)
    parties: list[dict[str, str]] = answer.json()
    return parties


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/tariffs", {"valid_from": "0001-01-01", "per_kwh": "0.30"}, "body.valid_from"),
        ("/tariffs", {"valid_from": "9999-12-31", "per_kwh": "0.30"}, "body.valid_from"),
    ],
)
def test_a_day_out_of_range_in_a_body_is_a_422(
    site: Site, attack: AttackLog, path: str, body: dict[str, str], field: str
) -> None:
    attack.tried("15.7 bad input", f"POST {path} with {body}")
    answer = site.api.client.post(API + path, json=body, headers=site.admin)
    assert answer.status_code == 422, answer.text
    assert field in _fields(answer.json())
    attack.held(f"422 naming {field}")


@pytest.mark.parametrize(
    "valid_until", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "2026-02-30T00:00Z"]
)
def test_a_bad_valid_until_is_a_422_not_ledger_unavailable(
    site: Site, attack: AttackLog, valid_until: str
) -> None:
    attack.tried("15.7 bad input", f"grant a qualification valid until {valid_until}")
    body = {"member": "giulia", "machine": "lathe-1", "valid_until": valid_until}
    answer = site.api.client.put(f"{API}/qualifications", json=body, headers=site.admin)
    assert answer.status_code == 422, answer.text
    assert "body.valid_until" in _fields(answer.json())
    attack.held("422 naming valid_until, not a 503 blaming the ledger")


OUT_OF_RANGE_PAGES = [
    "/machines/lathe-1/day?date=0001-01-01",
    "/machines/lathe-1/day?date=9999-12-31",
    "/members/giulia/month?month=0001-01",
    "/members/giulia/month?month=9999-12",
    "/members/giulia/month?month=2026-00",
    "/manage/cost-pools?month=9999-12",
    "/manage/cost-pools?month=0001-01",
    "/manage/statements?month=9999-12",
    "/manage/statements?month=0001-01",
]


@pytest.mark.parametrize("path", OUT_OF_RANGE_PAGES)
def test_dates_and_months_out_of_range_are_a_422_on_pages(
    site: Site, attack: AttackLog, path: str
) -> None:
    attack.tried("15.7 bad input", f"GET {path} as staff")
    site.api.client.cookies.set(SESSION_COOKIE, site.staff_cookie)
    try:
        answer = site.api.client.get(path)
    finally:
        site.api.client.cookies.clear()
    assert answer.status_code == 422, answer.text
    attack.held("422, the page never rendered with an impossible date")
