"""Coordinators review held sessions (release, dismiss) and conflicting copies; nobody else."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from contract import EndReason, SessionRecord
from services.api.security import Role
from services.ledger import SessionBook
from tests.api.conftest import Api, book_session, seed_registry

STARTED = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def test_a_coordinator_releases_a_held_session_once_its_member_exists(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    coordinator = api.add_login("coord", Role.COORDINATOR)
    held_id = book_session(
        api.state, member="ghost", machine="lathe-1", started=STARTED, minutes=30
    )
    book_session(api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=10)

    queue = api.client.get("/api/v1/review/held", headers=coordinator)
    too_soon = api.client.post(f"/api/v1/review/held/{held_id}/release", headers=coordinator)
    api.state.registry.add_member(member_id="ghost", name="Ghost")
    released = api.client.post(f"/api/v1/review/held/{held_id}/release", headers=coordinator)
    again = api.client.post(f"/api/v1/review/held/{held_id}/release", headers=coordinator)

    assert queue.status_code == 200
    assert [row["session_id"] for row in queue.json()] == [held_id]
    assert queue.json()[0]["member"] == "ghost"
    assert too_soon.status_code == 422
    assert too_soon.json()["detail"][0]["loc"] == ["body", "member"]
    assert released.status_code == 200
    assert released.json()["outcome"] == "released"
    assert released.json()["decided_by"] == "coord"
    assert again.status_code == 404
    assert api.client.get("/api/v1/review/held", headers=coordinator).json() == []


def test_a_dismissed_session_leaves_the_queue(sqlite_api: Api) -> None:
    api = sqlite_api
    coordinator = api.add_login("coord", Role.COORDINATOR)
    held_id = book_session(api.state, member="ghost", machine="lathe-1", started=STARTED, minutes=5)

    dismissed = api.client.post(f"/api/v1/review/held/{held_id}/dismiss", headers=coordinator)
    unknown = api.client.post(
        "/api/v1/review/held/00000000-0000-0000-0000-000000000000/dismiss", headers=coordinator
    )

    assert dismissed.status_code == 200 and dismissed.json()["outcome"] == "dismissed"
    assert unknown.status_code == 404
    assert api.client.get("/api/v1/review/held", headers=coordinator).json() == []


def test_conflicting_copies_are_listed_with_both_bodies(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    coordinator = api.add_login("coord", Role.COORDINATOR)
    session_id = book_session(
        api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=10
    )
    (booked,) = SessionBook(api.state.engine).sessions()
    copy = SessionRecord(
        id=session_id,
        ts=int(STARTED.timestamp() * 1000) + 700_000,
        machine="lathe-1",
        member="marco",
        card=booked.card_hash,
        started=int(booked.started.timestamp() * 1000),
        ended=int(booked.ended.timestamp() * 1000),
        unlocked_s=booked.unlocked_s,
        running_s=booked.running_s,
        idle_s=booked.idle_s,
        energy_wh=booked.energy_wh,
        end_reason=EndReason(booked.end_reason),
        clock_ok=booked.clock_ok,
    )
    SessionBook(api.state.engine).book_session(api.site, copy)

    listed = api.client.get("/api/v1/review/conflicts", headers=coordinator)

    assert listed.status_code == 200
    (conflict,) = listed.json()
    assert conflict["session_id"] == session_id
    assert conflict["gateway"] == "gw-1"
    assert conflict["booked"]["member"] == "giulia"
    assert conflict["delivered"]["member"] == "marco"
    assert json.dumps(conflict)  # plain JSON all the way down


def test_members_and_gateways_cannot_see_or_decide_the_queue(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    member = api.add_login("giulia", Role.MEMBER, member="giulia")
    held_id = book_session(api.state, member="ghost", machine="lathe-1", started=STARTED, minutes=5)

    answers = [
        api.client.get("/api/v1/review/held", headers=member),
        api.client.get("/api/v1/review/conflicts", headers=member),
        api.client.post(f"/api/v1/review/held/{held_id}/release", headers=member),
        api.client.post(f"/api/v1/review/held/{held_id}/dismiss", headers=member),
        api.client.get("/api/v1/review/held"),
    ]

    assert [a.status_code for a in answers] == [403, 403, 403, 403, 401]
