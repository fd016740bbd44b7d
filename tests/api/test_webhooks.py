"""Webhook subscriptions over the api: staff only, input checked by field, targets guarded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from harness.mosquitto import MosquittoServer
from services.api.security import Role
from services.ledger import WebhookEventRow
from services.webhooks.store import WebhookStore
from services.webhooks.targets import TargetPolicy
from services.webhooks.worker import DeliveryWorker, WorkerOptions
from tests.api.conftest import (
    PASSWORD,
    Api,
    book_session,
    make_settings,
    running_api,
    seed_registry,
)
from tests.webhooks.receiver import running_receiver

MONTH = "2026-03"
STARTED = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def loopback_api(sqlite_url: str, mosquitto: MosquittoServer, site: str) -> Iterator[Api]:
    """An api whose settings allow webhook targets on loopback, as a receiver here needs."""
    yield from running_api(make_settings(sqlite_url, mosquitto, site, webhooks_allow_loopback=True))


def test_staff_subscribe_and_see_the_secret_only_once(loopback_api: Api) -> None:
    client = loopback_api.client
    coordinator = loopback_api.add_login("coord", Role.COORDINATOR)
    member = loopback_api.add_login("giulia", Role.MEMBER, member="giulia")
    body = {"url": "http://127.0.0.1:9/in", "events": ["session.closed", "statement.issued"]}
    assert client.post("/api/v1/webhooks", json=body, headers=member).status_code == 403
    made = client.post("/api/v1/webhooks", json=body, headers=coordinator)
    assert made.status_code == 201, made.text
    assert len(made.json()["secret"]) == 64
    listed = client.get("/api/v1/webhooks", headers=coordinator).json()
    assert [w["url"] for w in listed] == ["http://127.0.0.1:9/in"]
    assert "secret" not in listed[0]
    assert listed[0]["events"] == ["session.closed", "statement.issued"]
    assert client.get("/api/v1/webhooks", headers=member).status_code == 403
    gone = client.delete(f"/api/v1/webhooks/{made.json()['id']}", headers=coordinator)
    assert gone.status_code == 204
    assert client.get("/api/v1/webhooks", headers=coordinator).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example/in", "events": ["session.closed"]}, "url"),
        ({"url": "https://user:pw@hooks.example/in", "events": ["session.closed"]}, "url"),
        ({"url": "https://" + "h" * 2100 + ".example/", "events": ["session.closed"]}, "url"),
        ({"url": "https:///no-host", "events": ["session.closed"]}, "url"),
        ({"url": "http://127.0.0.1:99999/", "events": ["session.closed"]}, "url"),
        ({"url": "https://hooks.example/in", "events": []}, "events"),
        ({"url": "https://hooks.example/in", "events": ["session.opened"]}, "events"),
        ({"url": "https://hooks.example/in"}, "events"),
        ({"events": ["session.closed"]}, "url"),
        ({"url": "https://hooks.example/in", "events": ["session.closed"], "x": 1}, "x"),
    ],
)
def test_bad_subscription_input_is_a_422_naming_the_field(
    sqlite_api: Api, body: dict[str, object], field: str
) -> None:
    admin = sqlite_api.add_login("admin", Role.ADMIN)
    answer = sqlite_api.client.post("/api/v1/webhooks", json=body, headers=admin)
    assert answer.status_code == 422, answer.text
    assert field in [problem["loc"][-1] for problem in answer.json()["detail"]]
    assert sqlite_api.state.rejections.snapshot()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/in",
        "http://localhost/in",
        "http://[::1]/in",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/in",
    ],
)
def test_targets_on_loopback_or_metadata_addresses_are_refused_by_default(
    sqlite_api: Api, url: str
) -> None:
    admin = sqlite_api.add_login("admin", Role.ADMIN)
    answer = sqlite_api.client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["session.closed"]}, headers=admin
    )
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["loc"][-1] == "url"


def test_allowing_loopback_still_refuses_the_metadata_address(loopback_api: Api) -> None:
    admin = loopback_api.add_login("admin", Role.ADMIN)
    metadata = {"url": "http://169.254.169.254/", "events": ["session.closed"]}
    local = {"url": "http://127.0.0.1:9/in", "events": ["session.closed"]}
    client = loopback_api.client
    assert client.post("/api/v1/webhooks", json=metadata, headers=admin).status_code == 422
    assert client.post("/api/v1/webhooks", json=local, headers=admin).status_code == 201


def test_a_booked_session_and_an_issued_statement_reach_the_receiver(loopback_api: Api) -> None:
    seed_registry(loopback_api)
    client = loopback_api.client
    admin = loopback_api.add_login("admin", Role.ADMIN)
    with running_receiver([]) as receiver:
        body = {"url": receiver.url, "events": ["session.closed", "statement.issued"]}
        made = client.post("/api/v1/webhooks", json=body, headers=admin).json()
        tariff = {"valid_from": "2026-01-01", "per_running_minute": "0.5"}
        assert client.post("/api/v1/tariffs", json=tariff, headers=admin).status_code == 201
        session_id = book_session(
            loopback_api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=30
        )
        client.post("/api/v1/statements/drafts", json={"month": MONTH}, headers=admin)
        issued = client.post("/api/v1/statements/issue", json={"month": MONTH}, headers=admin)
        [number] = issued.json()["numbers"]
        owed = client.get(f"/api/v1/webhooks/{made['id']}/deliveries", headers=admin).json()
        assert [(d["event"], d["status"]) for d in owed] == [
            ("statement.issued", "pending"),
            ("session.closed", "pending"),
        ]
        worker = DeliveryWorker(
            WebhookStore(loopback_api.state.engine),
            WorkerOptions(policy=TargetPolicy(allow_loopback=True)),
        )
        try:
            while worker.deliver_due():
                pass
        finally:
            worker.close()
        bodies = [json.loads(r.body) for r in receiver.accepted()]
        assert [b["type"] for b in bodies] == ["session.closed", "statement.issued"]
        assert bodies[0]["data"]["id"] == session_id
        statement = bodies[1]["data"]
        assert statement["number"] == number and statement["member"] == "giulia"
        assert statement["total_cents"] == statement["net_cents"] + statement["vat_cents"] > 0
        assert receiver.signed_right(made["secret"])

        replayed = client.post(f"/api/v1/webhooks/deliveries/{owed[0]['id']}/replay", headers=admin)
        assert replayed.status_code == 202
        assert (replayed.json()["status"], replayed.json()["attempts"]) == ("pending", 0)
        # The page, with the login's cookie as a browser has it.
        login = client.post("/api/v1/login", json={"username": "admin", "password": PASSWORD})
        assert login.status_code == 200
        page = client.get("/manage/webhooks?lang=en")
        assert page.status_code == 200
        assert receiver.url in page.text and owed[0]["id"][:8] in page.text
        assert "Pending" in page.text and "Delivered" in page.text


def test_replaying_an_unknown_delivery_is_a_404(sqlite_api: Api) -> None:
    admin = sqlite_api.add_login("admin", Role.ADMIN)
    missing = "/api/v1/webhooks/deliveries/00000000-0000-4000-8000-000000000000/replay"
    assert sqlite_api.client.post(missing, headers=admin).status_code == 404
    assert sqlite_api.client.get("/api/v1/webhooks/7/deliveries", headers=admin).status_code == 404


def test_erasing_a_member_takes_her_id_out_of_the_webhook_events(loopback_api: Api) -> None:
    seed_registry(loopback_api)
    client = loopback_api.client
    admin = loopback_api.add_login("admin", Role.ADMIN)
    body = {"url": "http://127.0.0.1:9/in", "events": ["session.closed"]}
    made = client.post("/api/v1/webhooks", json=body, headers=admin).json()
    book_session(loopback_api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=5)
    assert client.post("/api/v1/members/giulia/erase", headers=admin).status_code == 200
    [owed] = client.get(f"/api/v1/webhooks/{made['id']}/deliveries", headers=admin).json()
    with loopback_api.state.open_db() as db:
        [event] = db.scalars(select(WebhookEventRow)).all()
    assert "giulia" not in event.body
    assert json.loads(event.body)["data"]["member"].startswith("erased-")
    assert owed["status"] == "pending"  # still sent, without her id
