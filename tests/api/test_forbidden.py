"""Every api route refuses (403) a login that may not reach it: members, coordinators, gateways.

The tables below name every route of the OpenAPI schema; a route added without saying who may
not reach it fails `test_the_tables_name_every_route`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest

from harness.mosquitto import MosquittoServer
from services.api.security import Role
from services.ledger import MachineSpec
from tests.api.conftest import Api, book_session, make_settings, running_api, seed_registry

MARCO_CARD = "ef" * 32


@dataclass(frozen=True)
class Call:
    """A request that the login must be refused."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: object = None


@dataclass(frozen=True)
class World:
    """A seeded api and bearer headers of each kind of login."""

    api: Api
    headers: dict[str, dict[str, str]]
    marco_statement: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, mosquitto: MosquittoServer) -> Iterator[World]:
    """One api for every route check: giulia (member), marco's data, staff, a gateway."""
    url = f"sqlite:///{tmp_path_factory.mktemp('forbidden') / 'ledger.sqlite3'}"
    site = f"site-{secrets.token_hex(4)}"
    for api in running_api(make_settings(url, mosquitto, site)):
        seed_registry(api)
        api.state.registry.save_machine(
            MachineSpec(site=site, id="saw-9", name="Sega", gateway="gw-2", idle_amps=1, run_amps=3)
        )
        api.state.registry.add_card(site=site, card_hash=MARCO_CARD, member="marco")
        headers = {
            "member": api.add_login("giulia", Role.MEMBER, member="giulia"),
            "coordinator": api.add_login("coord", Role.COORDINATOR),
            "admin": api.add_login("admin", Role.ADMIN),
            "gateway": api.add_login("gateway-gw-1", Role.GATEWAY),
        }
        admin = headers["admin"]
        api.client.post(
            "/api/v1/tariffs",
            json={"valid_from": "2026-01-01", "per_running_minute": "0.1"},
            headers=admin,
        )
        started = datetime(2026, 3, 2, 10, tzinfo=UTC)
        book_session(api.state, member="marco", machine="lathe-1", started=started, minutes=10)
        api.client.post("/api/v1/statements/drafts", json={"month": "2026-03"}, headers=admin)
        [statement] = api.client.get(
            "/api/v1/statements", params={"month": "2026-03", "member": "marco"}, headers=admin
        ).json()
        yield World(api=api, headers=headers, marco_statement=statement["id"])


def _statement(world: World, tail: str = "") -> str:
    return f"/api/v1/statements/{world.marco_statement}{tail}"


# What a member (giulia) must be refused; a string says why members may use the route.
MEMBER: dict[str, Call | str] = {
    "POST /api/v1/login": "anyone may try to log in",
    "POST /api/v1/logout": "ends the caller's own token",
    "GET /api/v1/me": "the caller's own login",
    "GET /api/v1/users": Call("GET", "/api/v1/users"),
    "POST /api/v1/users": Call(
        "POST",
        "/api/v1/users",
        json={"username": "x", "password": "long enough pw", "role": "admin"},
    ),
    "POST /api/v1/users/{user_id}/disable": Call("POST", "/api/v1/users/1/disable"),
    "GET /api/v1/members": Call("GET", "/api/v1/members"),
    "POST /api/v1/members": Call("POST", "/api/v1/members", json={"id": "eve", "name": "Eve"}),
    "GET /api/v1/members/{member_id}": Call("GET", "/api/v1/members/marco"),
    "GET /api/v1/members/by-pseudonym/{pseudonym}": Call(
        "GET", "/api/v1/members/by-pseudonym/m-0123456789"
    ),
    "PATCH /api/v1/members/{member_id}": Call(
        "PATCH", "/api/v1/members/giulia", json={"name": "Giulia the Great"}
    ),
    "GET /api/v1/members/{member_id}/export": Call("GET", "/api/v1/members/marco/export"),
    "POST /api/v1/members/{member_id}/erase": Call("POST", "/api/v1/members/giulia/erase"),
    "GET /api/v1/cards": Call("GET", "/api/v1/cards", params={"member": "marco"}),
    "POST /api/v1/cards": Call(
        "POST", "/api/v1/cards", json={"member": "giulia", "uid": "04A1B2C3"}
    ),
    "POST /api/v1/cards/enrol": Call(
        "POST", "/api/v1/cards/enrol", json={"member": "giulia", "machine": "lathe-1"}
    ),
    "POST /api/v1/cards/{card}/revoke": Call("POST", f"/api/v1/cards/{MARCO_CARD}/revoke"),
    "GET /api/v1/qualifications": Call("GET", "/api/v1/qualifications", params={"member": "marco"}),
    "GET /api/v1/bookings": Call("GET", "/api/v1/bookings", params={"member": "marco"}),
    "POST /api/v1/bookings": Call(
        "POST",
        "/api/v1/bookings",
        json={
            "machine": "lathe-1",
            "member": "marco",
            "starts_at": "2030-01-07T09:00:00Z",
            "ends_at": "2030-01-07T10:00:00Z",
        },
    ),
    "GET /api/v1/bookings/calendar-token": "the path of the caller's own feed",
    "GET /api/v1/bookings/members/{member}/{token}.ics": "reached by the member's token, not a "
    "login; a wrong token is a 404 (test_bookings.py)",
    "GET /api/v1/bookings/machines/{machine}.ics": "a machine's bookings, members named to staff",
    "DELETE /api/v1/bookings/{booking}": "a member cancels her own bookings, not another's "
    "(test_bookings.py)",
    "PUT /api/v1/qualifications": Call(
        "PUT", "/api/v1/qualifications", json={"member": "giulia", "machine": "lathe-1"}
    ),
    "DELETE /api/v1/qualifications/{member}/{machine}": Call(
        "DELETE", "/api/v1/qualifications/marco/lathe-1"
    ),
    "GET /api/v1/machines": "the machines are no one's personal data",
    "GET /api/v1/machines/{machine}": "the machines are no one's personal data",
    "PUT /api/v1/machines/{machine}": Call(
        "PUT",
        "/api/v1/machines/lathe-1",
        json={"name": "L", "gateway": "gw-1", "idle_amps": 1, "run_amps": 2},
    ),
    "GET /api/v1/machines/{machine}/acl": Call("GET", "/api/v1/machines/lathe-1/acl"),
    "POST /api/v1/machines/{machine}/retire": Call("POST", "/api/v1/machines/lathe-1/retire"),
    "GET /api/v1/machines/{machine}/photo": "the machines are no one's personal data",
    "PUT /api/v1/machines/{machine}/photo": Call("PUT", "/api/v1/machines/lathe-1/photo"),
    "DELETE /api/v1/machines/{machine}/photo": Call("DELETE", "/api/v1/machines/lathe-1/photo"),
    "POST /api/v1/machines/{machine}/commands": Call(
        "POST", "/api/v1/machines/lathe-1/commands", json={"action": "lock"}
    ),
    "GET /api/v1/machines/{machine}/maintenance": "a machine's service state is no one's data",
    "POST /api/v1/machines/{machine}/maintenance/tasks": Call(
        "POST",
        "/api/v1/machines/lathe-1/maintenance/tasks",
        json={"title": "oil", "every_days": 30},
    ),
    "DELETE /api/v1/machines/{machine}/maintenance/tasks/{task}": Call(
        "DELETE", "/api/v1/machines/lathe-1/maintenance/tasks/1"
    ),
    "POST /api/v1/machines/{machine}/maintenance/tasks/{task}/sign-off": Call(
        "POST", "/api/v1/machines/lathe-1/maintenance/tasks/1/sign-off", json={}
    ),
    "GET /api/v1/machines/{machine}/booking-rules": "members read how a machine may be booked",
    "PUT /api/v1/machines/{machine}/booking-rules": Call(
        "PUT", "/api/v1/machines/lathe-1/booking-rules", json={}
    ),
    "DELETE /api/v1/machines/{machine}/booking-rules": Call(
        "DELETE", "/api/v1/machines/lathe-1/booking-rules"
    ),
    "GET /api/v1/machines/{machine}/faults": "members and staff report and read faults",
    "POST /api/v1/machines/{machine}/faults": "members and staff report and read faults",
    "PUT /api/v1/machines/{machine}/faults/{fault}/photo": "the reporter adds her own photo",
    "GET /api/v1/machines/{machine}/faults/{fault}/photo": "members and staff read faults",
    "POST /api/v1/machines/{machine}/faults/{fault}/close": Call(
        "POST", "/api/v1/machines/lathe-1/faults/1/close", json={}
    ),
    "GET /api/v1/sessions": Call("GET", "/api/v1/sessions", params={"member": "marco"}),
    "GET /api/v1/sessions.csv": Call("GET", "/api/v1/sessions.csv", params={"member": "marco"}),
    "GET /api/v1/tariffs": "prices are the same for everyone",
    "POST /api/v1/tariffs": Call("POST", "/api/v1/tariffs", json={"valid_from": "2026-01-01"}),
    "GET /api/v1/plans": Call("GET", "/api/v1/plans"),
    "PUT /api/v1/plans/{plan}": Call("PUT", "/api/v1/plans/maker", json={"monthly_fee_cents": 0}),
    "GET /api/v1/members/{member}/plans": Call("GET", "/api/v1/members/marco/plans"),
    "POST /api/v1/members/{member}/plans": Call(
        "POST", "/api/v1/members/giulia/plans", json={"valid_from": "2026-01-01"}
    ),
    "GET /api/v1/cost-pools": Call("GET", "/api/v1/cost-pools", params={"month": "2026-03"}),
    "POST /api/v1/cost-pools": Call(
        "POST",
        "/api/v1/cost-pools",
        json={"month": "2026-04", "name": "Luce", "total": "1", "key": "equal"},
    ),
    "DELETE /api/v1/cost-pools/{month}/{name}": Call("DELETE", "/api/v1/cost-pools/2026-03/x"),
    "GET /api/v1/statements": Call(
        "GET", "/api/v1/statements", params={"month": "2026-03", "member": "marco"}
    ),
    "POST /api/v1/statements/drafts": Call(
        "POST", "/api/v1/statements/drafts", json={"month": "2026-03"}
    ),
    "POST /api/v1/statements/issue": Call(
        "POST", "/api/v1/statements/issue", json={"month": "2026-03"}
    ),
    "GET /api/v1/statements/{statement_id}": Call("GET", "{marco_statement}"),
    "POST /api/v1/statements/{statement_id}/credit-note": Call(
        "POST", "{marco_statement}/credit-note", json={"reason": "mine now"}
    ),
    "GET /api/v1/statements/{statement_id}/pdf": Call("GET", "{marco_statement}/pdf"),
    "GET /api/v1/statements/{statement_id}/fattura.xml": Call(
        "GET", "{marco_statement}/fattura.xml"
    ),
    "GET /api/v1/statements/fiscal/{month}/bundle.zip": Call(
        "GET", "/api/v1/statements/fiscal/2026-03/bundle.zip"
    ),
    "GET /api/v1/statements/register/{month}.csv": Call(
        "GET", "/api/v1/statements/register/2026-03.csv"
    ),
    "GET /api/v1/statements/register/{month}.json": Call(
        "GET", "/api/v1/statements/register/2026-03.json"
    ),
    "GET /api/v1/floor": "members see the floor, other members' names hidden",
    "GET /api/v1/floor/events": "members see the floor, other members' names hidden",
    "GET /api/v1/gateways": Call("GET", "/api/v1/gateways"),
    "POST /api/v1/gateways/{gateway}/credentials": Call(
        "POST", "/api/v1/gateways/gw-1/credentials"
    ),
    "GET /api/v1/gateways/broker-files": Call("GET", "/api/v1/gateways/broker-files"),
    "POST /api/v1/gateways/{gateway}/config": Call(
        "POST",
        "/api/v1/gateways/gw-1/config",
        json={"machines": [{"machine": "lathe-1", "driver": "mcu", "port": "/dev/ttyACM0"}]},
    ),
    "GET /api/v1/review/held": Call("GET", "/api/v1/review/held"),
    "POST /api/v1/review/held/{session_id}/release": Call(
        "POST", "/api/v1/review/held/00000000-0000-0000-0000-000000000000/release"
    ),
    "POST /api/v1/review/held/{session_id}/dismiss": Call(
        "POST", "/api/v1/review/held/00000000-0000-0000-0000-000000000000/dismiss"
    ),
    "GET /api/v1/review/conflicts": Call("GET", "/api/v1/review/conflicts"),
    "GET /api/v1/members/{member}/parties": Call("GET", "/api/v1/members/marco/parties"),
    "POST /api/v1/members/{member}/parties": Call(
        "POST",
        "/api/v1/members/giulia/parties",
        json={"label": "Io", "kind": "person", "first_name": "G", "last_name": "R"},
    ),
    "GET /api/v1/members/{member}/parties/{party}": Call("GET", "/api/v1/members/marco/parties/1"),
    "PATCH /api/v1/members/{member}/parties/{party}": Call(
        "PATCH", "/api/v1/members/giulia/parties/1", json={"label": "Mine"}
    ),
    "DELETE /api/v1/members/{member}/parties/{party}": Call(
        "DELETE", "/api/v1/members/giulia/parties/1"
    ),
    "POST /api/v1/members/{member}/parties/{party}/default": Call(
        "POST", "/api/v1/members/giulia/parties/1/default"
    ),
    "POST /api/v1/members/{member}/parties/{party}/cards": Call(
        "POST", "/api/v1/members/giulia/parties/1/cards", json={"card_hash": MARCO_CARD}
    ),
    "DELETE /api/v1/members/{member}/parties/{party}/cards/{card}": Call(
        "DELETE", f"/api/v1/members/giulia/parties/1/cards/{MARCO_CARD}"
    ),
    "GET /api/v1/workshop/fiscal": Call("GET", "/api/v1/workshop/fiscal"),
    "GET /api/v1/webhooks": Call("GET", "/api/v1/webhooks"),
    "POST /api/v1/webhooks": Call(
        "POST",
        "/api/v1/webhooks",
        json={"url": "https://hooks.example/in", "events": ["session.closed"]},
    ),
    "DELETE /api/v1/webhooks/{subscription_id}": Call("DELETE", "/api/v1/webhooks/1"),
    "GET /api/v1/webhooks/{subscription_id}/deliveries": Call(
        "GET", "/api/v1/webhooks/1/deliveries"
    ),
    "POST /api/v1/webhooks/deliveries/{delivery_id}/replay": Call(
        "POST", "/api/v1/webhooks/deliveries/00000000-0000-4000-8000-000000000000/replay"
    ),
    "GET /api/v1/payments": Call("GET", "/api/v1/payments"),
    "POST /api/v1/payments/import": Call("POST", "/api/v1/payments/import"),
    "POST /api/v1/payments/{payment_id}/assign": Call(
        "POST", "/api/v1/payments/1/assign", json={"not_ours": True}
    ),
    "POST /api/v1/payments/{payment_id}/to-credit": Call(
        "POST", "/api/v1/payments/1/to-credit", json={"member": "giulia"}
    ),
    "GET /api/v1/members/{member_id}/credit": Call("GET", "/api/v1/members/marco/credit"),
    "POST /api/v1/members/{member_id}/credit/top-ups": Call(
        "POST", "/api/v1/members/giulia/credit/top-ups", json={"amount_cents": 100}
    ),
    "POST /api/v1/members/{member_id}/credit/take-backs": Call(
        "POST",
        "/api/v1/members/giulia/credit/take-backs",
        json={"amount_cents": 100, "note": "x"},
    ),
    "POST /api/v1/members/{member_id}/packs": Call(
        "POST", "/api/v1/members/giulia/packs", json={"product_id": 1}
    ),
    "GET /api/v1/packs": "the catalogue of packs on sale is shown to every member",
    "PUT /api/v1/packs/{product_id}": Call("PUT", "/api/v1/packs/1", json={"price_cents": 1}),
    "POST /api/v1/packs/{product_id}/retire": Call("POST", "/api/v1/packs/1/retire"),
    "POST /api/v1/packs": Call(
        "POST",
        "/api/v1/packs",
        json={
            "name": "x",
            "meter": "kwh",
            "quantity": 1,
            "price_cents": 1,
            "valid_days": 1,
        },
    ),
    "GET /api/v1/consumables": "the catalogue a member takes from at the machine",
    "GET /api/v1/consumables/takes": "a member sees only her own takes",
    "GET /api/v1/consumables/{item_id}": "one item of the catalogue, with its price",
    "POST /api/v1/consumables/{item_id}/take": "a member records her own takes only",
    "GET /api/v1/consumables/low": Call("GET", "/api/v1/consumables/low"),
    "GET /api/v1/consumables/takes/{month}.csv": Call(
        "GET", "/api/v1/consumables/takes/2026-03.csv"
    ),
    "GET /api/v1/payments/export/{month}.csv": Call("GET", "/api/v1/payments/export/2026-03.csv"),
    "POST /api/v1/consumables": Call(
        "POST", "/api/v1/consumables", json={"name": "Blade", "unit": "pc", "price_cents": 100}
    ),
    "PUT /api/v1/consumables/{item_id}": Call(
        "PUT", "/api/v1/consumables/1", json={"name": "Blade", "unit": "pc", "price_cents": 1}
    ),
    "POST /api/v1/consumables/{item_id}/restock": Call(
        "POST", "/api/v1/consumables/1/restock", json={"quantity": 5}
    ),
    "POST /api/v1/consumables/{item_id}/retire": Call("POST", "/api/v1/consumables/1/retire"),
    "DELETE /api/v1/consumables/{item_id}/retire": Call("DELETE", "/api/v1/consumables/1/retire"),
}

# What only an admin may do: a coordinator is refused.
ADMIN_ONLY = (
    "GET /api/v1/users",
    "POST /api/v1/users",
    "POST /api/v1/users/{user_id}/disable",
    "POST /api/v1/members/{member_id}/erase",
    "POST /api/v1/statements/issue",
    "POST /api/v1/statements/{statement_id}/credit-note",
    "POST /api/v1/gateways/{gateway}/credentials",
    "GET /api/v1/gateways/broker-files",
    "POST /api/v1/gateways/{gateway}/config",
)

# Not refused by login: a gateway's own acl, and a member's calendar feed (its token decides).
NO_LOGIN_NEEDED = (
    "GET /api/v1/machines/{machine}/acl",
    "GET /api/v1/bookings/members/{member}/{token}.ics",
)

# A gateway reaches its own machines' access lists, its login, and nothing else.
GATEWAY_MAY = ("POST /api/v1/login", "POST /api/v1/logout", "GET /api/v1/me")


def _gateway_call(route: str) -> Call:
    """The member's call for the route, or a plain one where members may call it."""
    case = MEMBER[route]
    if isinstance(case, Call):
        return case
    method, path = route.split(" ")
    return Call(method, path.replace("{machine}", "lathe-1"))


def _send(world: World, who: str, call: Call) -> int:
    path = call.path.replace("{marco_statement}", _statement(world))
    answer: httpx.Response = world.api.client.request(
        call.method, path, params=call.params, json=call.json, headers=world.headers[who]
    )
    return answer.status_code


def test_the_tables_name_every_route(world: World) -> None:
    schema = world.api.client.get("/openapi.json").json()
    routes = {f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops}
    assert routes == set(MEMBER)
    assert set(ADMIN_ONLY) <= routes


@pytest.mark.parametrize("route", sorted(r for r, c in MEMBER.items() if isinstance(c, Call)))
def test_a_member_is_refused_403(world: World, route: str) -> None:
    call = MEMBER[route]
    assert isinstance(call, Call)
    assert _send(world, "member", call) == 403


@pytest.mark.parametrize("route", ADMIN_ONLY)
def test_a_coordinator_is_refused_403_on_admin_routes(world: World, route: str) -> None:
    assert _send(world, "coordinator", _gateway_call(route)) == 403


@pytest.mark.parametrize(
    "route",
    sorted(r for r in MEMBER if r not in GATEWAY_MAY and r not in NO_LOGIN_NEEDED),
)
def test_a_gateway_is_refused_403_outside_its_access_lists(world: World, route: str) -> None:
    assert _send(world, "gateway", _gateway_call(route)) == 403


def test_a_gateway_reads_its_own_machines_access_list_but_not_another_gateways(
    world: World,
) -> None:
    assert _send(world, "gateway", Call("GET", "/api/v1/machines/lathe-1/acl")) == 200
    assert _send(world, "gateway", Call("GET", "/api/v1/machines/saw-9/acl")) == 403


def test_a_member_reaches_their_own_data(world: World) -> None:
    own = (
        Call("GET", "/api/v1/members/giulia"),
        Call("GET", "/api/v1/members/giulia/export"),
        Call("GET", "/api/v1/sessions", params={"member": "giulia"}),
        Call("GET", "/api/v1/cards", params={"member": "giulia"}),
        Call("GET", "/api/v1/qualifications"),
        Call("GET", "/api/v1/statements", params={"month": "2026-03"}),
        Call("GET", "/api/v1/members/giulia/parties"),
    )
    assert [_send(world, "member", call) for call in own] == [200] * len(own)
