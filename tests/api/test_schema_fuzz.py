"""Schemathesis sends generated requests to every operation of the OpenAPI schema: never a 5xx."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Err, Ok
from schemathesis.generation.case import Case

from harness.mosquitto import MosquittoServer
from services.api.app import create_app
from services.api.security import Role
from services.api.settings import ApiSettings
from tests.api.conftest import (
    PASSWORD,
    add_login_directly,
    book_session,
    make_settings,
    seed_registry_of,
    served_api,
)

EXAMPLES_PER_OPERATION = 25
# Not fuzzed: they would end the fuzzer's own login, or hold a request open by design.
SKIPPED = {
    "POST /api/v1/logout",
    "POST /api/v1/users/{user_id}/disable",
    "GET /api/v1/floor/events",
    "POST /api/v1/cards/enrol",
}

Loaded = TypeVar("Loaded")
Refusal = TypeVar("Refusal", bound=Exception)


def _loaded(result: Ok[Loaded] | Err[Refusal]) -> Loaded:
    """What schemathesis loaded, or the error it met, raised."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


_SCHEMA = create_app(
    ApiSettings(
        site="schema",
        secret="schema-api-secret-0123456789abcdef",
        site_key="schema-site-key-0123456789abcdef",
    )
).openapi()
_OPERATIONS = {
    f"{op.method.upper()} {op.path}": op
    for result in schemathesis.openapi.from_dict(_SCHEMA).get_all_operations()
    for op in [_loaded(result)]
}


@dataclass(frozen=True)
class Target:
    """Where the api listens and the admin's bearer header."""

    url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def target(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: MosquittoServer
) -> Iterator[Target]:
    """A served api with some data, and an admin login that the fuzzer uses throughout."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'ledger.sqlite3'}"
    site = f"site-{secrets.token_hex(4)}"
    with served_api(make_settings(url, mosquitto, site)) as running:
        seed_registry_of(running.state, site)
        book_session(
            running.state,
            member="giulia",
            machine="lathe-1",
            started=datetime(2026, 3, 2, 9, tzinfo=UTC),
            minutes=5,
        )
        add_login_directly(running.state, "fuzzer", Role.ADMIN)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "fuzzer", "password": PASSWORD}
        ).json()["access_token"]
        yield Target(url=running.url, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("operation", sorted(set(_OPERATIONS) - SKIPPED))
def test_no_generated_request_makes_the_api_fail(target: Target, operation: str) -> None:
    strategy = _OPERATIONS[operation].as_strategy()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Case[Any]) -> None:
        request = case.as_transport_kwargs(base_url=target.url, headers=target.headers)
        response = client.request(
            request["method"],
            request["url"],
            params=request.get("params"),
            headers=request.get("headers"),
            json=request.get("json"),
            content=request.get("data"),
        )
        assert response.status_code < 500, (
            f"{case.as_curl_command()} -> {response.status_code} {response.text[:500]}"
        )

    with httpx.Client(timeout=10) as client:
        check()


def test_every_operation_is_fuzzed_but_the_skipped_ones() -> None:
    assert set(_OPERATIONS) >= SKIPPED
    assert len(set(_OPERATIONS) - SKIPPED) >= 35
