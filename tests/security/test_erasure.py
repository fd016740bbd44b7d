"""15.9 Erasure that erases: after it, no copy anywhere names the member; her amounts stay."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import MetaData, select

from contract import (
    Badge,
    BadgeDecision,
    EndReason,
    MachineState,
    MachineTopic,
    SessionRecord,
    TopicKind,
    encode_payload,
)
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.security import Role
from services.ingest import Ingest
from tests.api.conftest import (
    PASSWORD,
    Api,
    MovableClock,
    make_settings,
    next_acl,
    running_api,
    seed_registry,
    state_change,
)
from tests.ingest.running import ingest_settings
from tests.security.conftest import AttackLog
from tests.waiting import eventually

WAIT_S = 10.0
NAME = "Giulia Rossi"
EMAIL = "giulia@example.org"
MACHINE = "lathe-1"
LOCAL = ZoneInfo("Europe/Rome")
# Where her id stays after an erasure: her member row, so the id stays taken, and what hangs
# from it by a foreign key (her disabled logins, plan, language, weights).
KEEP_HER_ID = {"members", "api_users", "member_plans", "billing_profiles", "weights"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A broker of the test's own: ingest follows every site, so no other test may reach it."""
    server = MosquittoServer(workdir=tmp_path / "mosquitto")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api_clock() -> MovableClock:
    """The api's clock: moved past the month's end to issue the month her sessions are in."""
    return MovableClock()


@pytest.fixture
def workshop(ledger_url: str, broker: MosquittoServer, api_clock: MovableClock) -> Iterator[Api]:
    """The api on its ledger and broker, with two members and two machines."""
    site = f"site-{secrets.token_hex(4)}"
    # Logins outlast the clock's move to the next month.
    settings = replace(make_settings(ledger_url, broker, site), token_ttl_s=45 * 86_400)
    for api in running_api(settings, clock=api_clock):
        seed_registry(api)
        yield api


@pytest.fixture
def ingest(ledger_url: str, broker: MosquittoServer, workshop: Api) -> Iterator[Ingest]:
    """A real ingest booking into the api's ledger (started after the api made its tables)."""
    running = Ingest(ingest_settings(broker, ledger_url, client_id=f"ingest-{uuid.uuid4().hex}"))
    running.start()
    try:
        running.wait_connected(WAIT_S)
        yield running
    finally:
        running.stop()


@dataclass(frozen=True)
class Usage:
    """What the gateway sent for the month: her card, her sessions, when and which month."""

    card: str
    sessions: list[str]
    started: datetime
    month: str


def _session(member: str, card: str, started: datetime, *, energy_wh: float) -> SessionRecord:
    started_ms = int(started.timestamp() * 1000)
    ended_ms = started_ms + 30 * 60_000
    return SessionRecord(
        id=str(uuid.uuid4()),
        ts=ended_ms,
        machine=MACHINE,
        member=member,
        card=card,
        started=started_ms,
        ended=ended_ms,
        unlocked_s=1800.0,
        running_s=1200.0,
        idle_s=600.0,
        energy_wh=energy_wh,
        end_reason=EndReason.BADGE_OUT,
        clock_ok=True,
    )


def _use_the_lathe(api: Api, ingest: Ingest, gateway: MqttProbe, staff: dict[str, str]) -> Usage:
    """Her card, a tariff, sessions of both members, a badge, refused messages, a live state."""
    card = api.client.post(
        "/api/v1/cards", json={"member": "giulia", "uid": "04A1B2C3"}, headers=staff
    ).json()["card_hash"]
    api.client.put(
        "/api/v1/qualifications", json={"member": "giulia", "machine": MACHINE}, headers=staff
    )
    # Two hours ago, in this month: the contract refuses times far from now.
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    month = started.astimezone(LOCAL).strftime("%Y-%m")
    tariff = {
        "valid_from": f"{started.year - 1}-01-01",
        "machine": MACHINE,
        "per_running_minute": "0,50",
        "minimum": "2",
        "vat": "22",
    }
    assert api.client.post("/api/v1/tariffs", json=tariff, headers=staff).status_code == 201
    sessions_topic = str(MachineTopic(api.site, MACHINE, TopicKind.SESSIONS))
    hers = _session("giulia", card, started, energy_wh=300.0)
    other = _session("marco", "ab" * 32, started + timedelta(minutes=40), energy_wh=100.0)
    for record in (hers, other):
        gateway.publish(sessions_topic, encode_payload(record))
    started_ms = int(started.timestamp() * 1000)
    badge = Badge(
        id=f"b-{uuid.uuid4()}",
        ts=started_ms,
        card=card,
        decision=BadgeDecision.GRANTED,
        reason="ok",
        member="giulia",
    )
    gateway.publish(str(MachineTopic(api.site, MACHINE, TopicKind.BADGES)), encode_payload(badge))
    # Refused messages that name her: by id and card hash, and by name and e-mail.
    refused = json.loads(encode_payload(hers))
    refused.update(id=str(uuid.uuid4()), energy_wh=-5)
    gateway.publish(sessions_topic, json.dumps(refused).encode())
    refused.update(id=str(uuid.uuid4()), energy_wh=5, member=NAME, note=EMAIL)
    gateway.publish(sessions_topic, json.dumps(refused).encode())
    assert ingest.wait_for_count("sessions_booked", 2, WAIT_S)
    assert ingest.wait_for_count("badges_booked", 1, WAIT_S)
    assert ingest.wait_for_count("rejected", 2, WAIT_S)
    state_topic = str(MachineTopic(api.site, MACHINE, TopicKind.STATE))
    gateway.publish(state_topic, state_change(MachineState.RUNNING, member="giulia"), retain=True)
    eventually(
        lambda: api.state.floor.machine(MACHINE).member == "giulia",
        timeout=WAIT_S,
        what="the live floor to show her at the lathe",
    )
    return Usage(card=card, sessions=[hers.id], started=started, month=month)


def _bill_and_correct(
    api: Api,
    ingest: Ingest,
    gateway: MqttProbe,
    usage: Usage,
    admin: dict[str, str],
    clock: MovableClock,
) -> None:
    """Issue the month, credit her with a reason naming her, then book a session of hers late."""
    # A month is issued once it is over: the api's clock moves to the next month's first hour.
    year, month = (int(part) for part in usage.month.split("-"))
    first = datetime(year + month // 12, month % 12 + 1, 1, 1, tzinfo=LOCAL)
    clock.move_to(first.astimezone(UTC))
    for step in ("drafts", "issue"):
        made = api.client.post(
            f"/api/v1/statements/{step}", json={"month": usage.month}, headers=admin
        )
        assert made.status_code == 200, made.text
    [statement] = api.client.get(
        "/api/v1/statements", params={"month": usage.month, "member": "giulia"}, headers=admin
    ).json()
    credit = {"reason": f"Refund agreed with {NAME} <{EMAIL}>", "net": "1.00", "vat": "22"}
    credited = api.client.post(
        f"/api/v1/statements/{statement['id']}/credit-note", json=credit, headers=admin
    )
    assert credited.status_code == 201, credited.text
    late = _session("giulia", usage.card, usage.started + timedelta(minutes=80), energy_wh=50.0)
    topic = str(MachineTopic(api.site, MACHINE, TopicKind.SESSIONS))
    gateway.publish(topic, encode_payload(late))
    assert ingest.wait_for_count("sessions_booked", 3, WAIT_S)
    usage.sessions.append(late.id)
    # The issued statement stays; the run log names her as the member whose total now differs.
    drafts = api.client.post(
        "/api/v1/statements/drafts", json={"month": usage.month}, headers=admin
    )
    assert drafts.json()["differ_from_issued"] == ["giulia"]


def _month_total(api: Api, month: str, staff: dict[str, str]) -> int:
    answer = api.client.get("/api/v1/statements", params={"month": month}, headers=staff)
    assert answer.status_code == 200, answer.text
    return sum(int(s["total_cents"]) for s in answer.json())


def _names_her(text: str, card: str) -> list[str]:
    """Which of her name, e-mail and card hash a text holds."""
    folded = text.casefold()
    return [mark for mark in (NAME, EMAIL, card) if mark.casefold() in folded]


def _names_her_id(text: str) -> bool:
    """Whether a text holds her member id as a whole word."""
    return re.search(r"(?<![A-Za-z0-9_-])giulia(?![A-Za-z0-9_-])", text) is not None


def _every_row(api: Api) -> Iterator[tuple[str, str]]:
    """Each row of each table in the ledger, as text, with its table's name."""
    tables = MetaData()
    tables.reflect(api.state.engine)
    with api.state.engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)):
                values = (
                    v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
                    for v in row
                )
                yield table.name, " | ".join(values)


def _retained(broker: MosquittoServer, site: str) -> list[tuple[str, bytes]]:
    """Every retained message of the site: the broker sends them before a later marker."""
    marker = f"marker/{secrets.token_hex(4)}"
    found: list[tuple[str, bytes]] = []
    with MqttProbe(host=broker.host, port=broker.port) as probe:
        probe.subscribe(f"officina/v1/{site}/#")
        probe.subscribe(marker)
        probe.publish(marker, b"end")
        while (received := probe.receive(timeout=WAIT_S)).topic != marker:
            if received.retain:
                found.append((received.topic, received.payload))
    return found


def test_an_erased_member_is_named_nowhere_and_her_amounts_stay(
    workshop: Api,
    ingest: Ingest,
    broker: MosquittoServer,
    attack: AttackLog,
    api_clock: MovableClock,
) -> None:
    api = workshop
    staff = api.add_login("coord", Role.COORDINATOR)
    admin = api.add_login("admin", Role.ADMIN)
    with MqttProbe(host=broker.host, port=broker.port) as gateway:
        usage = _use_the_lathe(api, ingest, gateway, staff)
        _bill_and_correct(api, ingest, gateway, usage, admin, api_clock)
    total_before = _month_total(api, usage.month, staff)
    assert total_before > 0
    giulia = api.add_login(EMAIL, Role.MEMBER, member="giulia")

    attack.tried("15.9 Erasure that erases", "a member's export, looking for her dead letters")
    export = api.client.get("/api/v1/members/giulia/export", headers=giulia).json()
    assert [s["id"] for s in export["sessions"]] == usage.sessions
    assert len(export["badges"]) == 1
    assert [s["kind"] for s in export["statements"]] == ["statement", "credit_note"]
    assert len(export["dead_letters"]) == 2
    assert all(_names_her(d["message"], usage.card) for d in export["dead_letters"])
    assert [run["step"] for run in export["audit"]] == ["draft"]
    assert [login["username"] for login in export["logins"]] == [EMAIL]
    attack.held("the export lists her sessions, badges, statements, dead letters, run log, logins")

    attack.tried(
        "15.9 Erasure that erases",
        "erase her, then look for her name, e-mail and card hash in every table, retained "
        "topic, page and api answer",
    )
    # The searches below do find her before the erasure, so their silence after it counts.
    before = {t for t, row in _every_row(api) if _names_her(row, usage.card) or _names_her_id(row)}
    assert before >= {
        "members",
        "sessions",
        "badge_events",
        "dead_letters",
        "statements",
        "statement_lines",
        "billing_runs",
        "api_users",
    }
    assert any(b'"giulia"' in payload for _, payload in _retained(broker, api.site))
    with MqttProbe(host=broker.host, port=broker.port) as acl_probe:
        acl_probe.subscribe(MachineTopic.filter(api.site, "+", TopicKind.ACL))
        erased = api.client.post("/api/v1/members/giulia/erase", headers=admin)
        assert erased.status_code == 200, erased.text
        # The access list is republished by its own thread: wait until hers is gone.
        next_acl(acl_probe, MACHINE, lambda acl: not acl.entries)
    result = erased.json()
    stand_in = result["erased_id"]
    assert (result["sessions_reassigned"], result["badges_reassigned"]) == (2, 1)
    assert (result["statements_reassigned"], result["dead_letters_scrubbed"]) == (2, 2)
    # The credit note's reason, its line's note and the run log's detail.
    assert result["notes_scrubbed"] == 3
    assert result["retained_states_republished"] == 1

    rows = list(_every_row(api))
    assert [(table, row) for table, row in rows if _names_her(row, usage.card)] == []
    assert {table for table, row in rows if _names_her_id(row)} <= KEEP_HER_ID
    retained = _retained(broker, api.site)
    assert retained, "the site's retained topics were not read"
    for topic, payload in retained:
        text = payload.decode("utf-8", errors="replace")
        assert not _names_her(text, usage.card) and '"giulia"' not in text, topic
    assert api.state.floor.machines_of("giulia") == []
    assert api.state.floor.machine(MACHINE).member == stand_in

    answers = {
        path: api.client.get(path, params=params, headers=admin)
        for path, params in (
            ("/api/v1/members", {}),
            ("/api/v1/members/giulia", {}),
            ("/api/v1/members/giulia/export", {}),
            ("/api/v1/sessions", {"machine": MACHINE}),
            ("/api/v1/floor", {}),
            ("/api/v1/statements", {"month": usage.month}),
            ("/api/v1/cards", {}),
        )
    }
    login = api.client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
    assert login.status_code == 200
    for page in (
        "/floor",
        f"/machines/{MACHINE}/day",
        f"/machines/{MACHINE}/month?month={usage.month}",
        "/manage/members",
        "/manage/cards",
        "/manage/qualifications",
        f"/members/giulia/month?month={usage.month}",
        f"/members/{stand_in}/month?month={usage.month}",
    ):
        answers[page] = api.client.get(page)
    api.client.cookies.clear()
    for where, answer in answers.items():
        assert answer.status_code < 500, where
        assert not _names_her(answer.text, usage.card), where
    assert answers["/floor"].status_code == answers["/manage/members"].status_code == 200
    attack.held("no table, retained topic, page or api answer names her after the erasure")

    attack.tried("15.9 Erasure that erases", "compare her sessions and the month's totals")
    sessions = answers["/api/v1/sessions"].json()
    mine = {s["id"]: s for s in sessions if s["id"] in usage.sessions}
    assert {s["member"] for s in mine.values()} == {stand_in} and len(mine) == 2
    assert (mine[usage.sessions[0]]["running_s"], mine[usage.sessions[0]]["energy_wh"]) == (
        1200.0,
        300.0,
    )
    assert _month_total(api, usage.month, staff) == total_before
    redrafted = api.client.post(
        "/api/v1/statements/drafts", json={"month": usage.month}, headers=staff
    )
    assert redrafted.status_code == 200, redrafted.text
    assert _month_total(api, usage.month, staff) == total_before
    attack.held("her session stays, reassigned to her erased id; the month bills the same cents")
