"""15.7: schemathesis' negative data over every route and hostile query strings over every page.

Zero 5xx: whatever a client sends, the answer is a 4xx naming what was wrong (or the page).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case

from harness.mosquitto import MosquittoServer
from services.api.app import create_app
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from services.api.settings import ApiSettings
from services.api.web.routers import PAGE_ROUTERS
from services.ledger.reservations import BookingRules
from tests.api.conftest import (
    PASSWORD,
    add_login_directly,
    book_session,
    make_settings,
    seed_registry_of,
    served_api,
)
from tests.security.conftest import AttackLog

# A few per operation: the pass over every route stays under a minute on a shared machine.
NEGATIVE_EXAMPLES_PER_OPERATION = 4
# Not sent: they would end the fuzzer's own login, or hold a request open by design.
SKIPPED = {
    "POST /api/v1/logout",
    "POST /api/v1/users/{user_id}/disable",
    "GET /api/v1/floor/events",
    "POST /api/v1/cards/enrol",
}
_APP = create_app(
    ApiSettings(
        site="schema",
        secret="no-5xx-api-secret-0123456789abcdefgh",
        site_key="no-5xx-site-key-0123456789abcdefgh",
    )
)
_OPERATIONS = {
    f"{result.ok().method.upper()} {result.ok().path}": result.ok()
    for result in schemathesis.openapi.from_dict(_APP.openapi()).get_all_operations()
    if isinstance(result, Ok)
}
PAGE_ROUTES = {
    route.path: route
    for page_router in PAGE_ROUTERS
    for route in page_router.routes
    if isinstance(route, APIRoute) and "GET" in (route.methods or set())
}
PAGES = sorted(PAGE_ROUTES)
PATH_VALUES = {
    "machine": "lathe-1",
    "member": "giulia",
    "pseudonym": "p-0123456789abcdef",
    "statement_id": "1",
    "payment_id": "1",
    "month": "2026-03",
    "extension": "csv",
}
# Read by every page (the language, the login's way back) or straight from the request by some
# (`done` after a form, `date` of a week); each page also gets the query parameters it declares.
COMMON_QUERY_NAMES = ("lang", "next", "done", "date")


def _declared_queries(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _declared_queries(dependency)
    return names


def _query_names(page: str) -> list[str]:
    return sorted({*COMMON_QUERY_NAMES, *_declared_queries(PAGE_ROUTES[page].dependant)})


HOSTILE_VALUES = (
    "",
    "0001-01-01",
    "9999-12-31",
    "0000-00",
    "9999-12",
    "2026-13",
    "2026-02-30",
    "２０２６-０３",
    "-1",
    "99999999999999999999",
    "NaN",
    "-Infinity",
    "1e999",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../../etc/passwd",
    "//evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "x" * 4000,
    "\x00",
)
# Sent as written: percent-escapes of bytes that are not UTF-8, and of a lone surrogate.
RAW_QUERIES = ("date=%FF%FE", "month=%ED%A0%80", "next=%C0%AF", "lang=%00", "date=%", "&&==&")


@dataclass(frozen=True)
class Target:
    """Where the api listens, the admin's bearer header, and the staff and member tokens."""

    url: str
    admin: dict[str, str]
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def target(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: MosquittoServer
) -> Iterator[Target]:
    """A served api with members, machines and a session, and logins of each kind."""
    url = f"sqlite:///{tmp_path_factory.mktemp('no-5xx') / 'ledger.sqlite3'}"
    site = f"site-{secrets.token_hex(4)}"
    with served_api(make_settings(url, mosquitto, site)) as running:
        seed_registry_of(running.state, site)
        started = datetime(2026, 3, 2, 9, tzinfo=UTC)
        book_session(running.state, member="giulia", machine="lathe-1", started=started, minutes=5)
        # A bookable lathe: its week page is crawled with its slots, not only as unbookable.
        running.state.reservations.save_rules(BookingRules(site=site, machine="lathe-1"))
        add_login_directly(running.state, "fuzzer", Role.ADMIN)
        add_login_directly(running.state, "coord", Role.COORDINATOR)
        add_login_directly(running.state, "giulia", Role.MEMBER, member="giulia")
        tokens = {
            name: httpx.post(
                f"{running.url}/api/v1/login", json={"username": name, "password": PASSWORD}
            ).json()["access_token"]
            for name in ("fuzzer", "coord", "giulia")
        }
        yield Target(
            url=running.url,
            admin={"Authorization": f"Bearer {tokens['fuzzer']}"},
            tokens={"staff": tokens["coord"], "member": tokens["giulia"]},
        )


@pytest.mark.parametrize("operation", sorted(set(_OPERATIONS) - SKIPPED))
def test_negative_data_never_makes_a_route_fail(
    target: Target, attack: AttackLog, operation: str
) -> None:
    attack.tried("15.7 bad input", f"schemathesis negative data on {operation}")
    strategy = _OPERATIONS[operation].as_strategy(generation_mode=GenerationMode.NEGATIVE)
    failures: list[str] = []

    @settings(
        max_examples=NEGATIVE_EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Case[Any]) -> None:
        request = case.as_transport_kwargs(base_url=target.url, headers=target.admin)
        response = client.request(
            request["method"],
            request["url"],
            params=request.get("params"),
            headers=request.get("headers"),
            json=request.get("json"),
            content=request.get("data"),
        )
        if response.status_code >= 500:
            failures.append(f"{case.as_curl_command()} -> {response.status_code}")

    with httpx.Client(timeout=10) as client:
        try:
            check()
        except Unsatisfiable:
            # Nothing in this operation can be made invalid (no parameters, no body).
            pytest.skip("schemathesis found no invalid input to make")
    assert not failures, "\n".join(failures[:5])
    attack.held("no 5xx for any invalid request generated")


def _page_url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


@pytest.mark.parametrize("role", ["staff", "member", "anonymous"])
@pytest.mark.parametrize("page", PAGES)
def test_hostile_query_strings_never_make_a_page_fail(
    target: Target, attack: AttackLog, page: str, role: str
) -> None:
    attack.tried("15.7 bad input", f"hostile query strings on {page} as {role}")
    cookies = {SESSION_COOKIE: target.tokens[role]} if role in target.tokens else {}
    failures = []
    with httpx.Client(base_url=target.url, cookies=cookies, timeout=10) as client:
        url = _page_url(page)
        for name in _query_names(page):
            for value in HOSTILE_VALUES:
                answer = client.get(url, params={name: value})
                if answer.status_code >= 500:
                    failures.append(f"{url}?{name}={value[:40]!r} -> {answer.status_code}")
        for raw in RAW_QUERIES:
            answer = client.get(f"{url}?{raw}")
            if answer.status_code >= 500:
                failures.append(f"{url}?{raw} -> {answer.status_code}")
        for value in ("..", "%2e%2e", "x" * 300, "ＡＢＣ", "a%00b"):
            hostile = re.sub(r"\{(\w+)\}", value, page)
            answer = client.get(hostile)
            if answer.status_code >= 500:
                failures.append(f"{hostile} -> {answer.status_code}")
    assert not failures, "\n".join(failures[:10])
    attack.held("no 5xx: every hostile query was a page, a redirect or a 4xx")


def test_every_route_and_page_is_crawled() -> None:
    assert len(set(_OPERATIONS) - SKIPPED) >= 35
    assert {
        "/login",
        "/floor",
        "/machines/{machine}/day",
        "/machines/{machine}/month",
        "/members/{member}/month",
    } <= set(PAGES)
