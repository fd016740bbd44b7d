"""A member downloads everything held about them; erasure reassigns and keeps the amounts."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

from contract import MachineState, MachineTopic, StateChange, TopicKind, decode_message
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from harness.plugin import MosquittoFactory
from services.api.security import Role
from services.ledger import SessionBook
from tests.api.conftest import (
    CONNECT_TIMEOUT_S,
    Api,
    book_session,
    make_settings,
    next_acl,
    publish_state,
    running_api,
    seed_registry,
)
from tests.waiting import eventually

STARTED = datetime(2026, 5, 4, 14, 0, tzinfo=UTC)


def test_a_member_downloads_all_their_data_as_json(api: Api) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    api.client.post("/api/v1/cards", json={"member": "giulia", "uid": "04A1B2C3"}, headers=staff)
    api.client.put(
        "/api/v1/qualifications", json={"member": "giulia", "machine": "lathe-1"}, headers=staff
    )
    book_session(api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=45)
    book_session(api.state, member="marco", machine="lathe-1", started=STARTED, minutes=5)
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    export = api.client.get("/api/v1/members/giulia/export", headers=giulia)
    assert export.status_code == 200
    data = export.json()
    assert data["member"]["email"] == "giulia@example.org"
    assert len(data["cards"]) == 1 and data["qualifications"][0]["machine"] == "lathe-1"
    assert [s["member"] for s in data["sessions"]] == ["giulia"]
    assert [login["username"] for login in data["logins"]] == ["giulia"]
    assert "password_hash" not in export.text


def test_erasing_a_member_keeps_their_sessions_amounts_under_an_erased_id(
    api: Api, acl_probe: MqttProbe
) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    admin = api.add_login("admin", Role.ADMIN)
    api.client.post("/api/v1/cards", json={"member": "giulia", "uid": "04A1B2C3"}, headers=staff)
    api.client.put(
        "/api/v1/qualifications", json={"member": "giulia", "machine": "lathe-1"}, headers=staff
    )
    next_acl(acl_probe, "lathe-1", lambda a: len(a.entries) == 1)
    session_id = book_session(
        api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=45, energy_wh=900
    )
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")

    erased = api.client.post("/api/v1/members/giulia/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    result = erased.json()
    assert result["sessions_reassigned"] == 1 and result["cards_removed"] == 1
    assert result["erased_id"].startswith("erased-")

    [session] = api.client.get(
        "/api/v1/sessions", params={"machine": "lathe-1"}, headers=staff
    ).json()
    assert session["id"] == session_id and session["member"] == result["erased_id"]
    assert (session["running_s"], session["energy_wh"]) == (1800.0, 900.0)
    member = api.client.get("/api/v1/members/giulia", headers=staff).json()
    assert (member["name"], member["email"]) == ("(erased)", None) and member["erased_at"]
    assert api.client.get("/api/v1/me", headers=giulia).status_code == 401
    next_acl(acl_probe, "lathe-1", lambda a: not a.entries)


def test_only_an_admin_erases(api: Api) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    assert api.client.post("/api/v1/members/giulia/erase", headers=staff).status_code == 403


def test_an_erasure_while_the_broker_is_away_is_kept_and_finished_by_erasing_again(
    sqlite_url: str, mosquitto_factory: MosquittoFactory, site: str
) -> None:
    broker = mosquitto_factory(persistence=True)
    # The api of its own broker, which this test stops and starts.
    with contextmanager(running_api)(make_settings(sqlite_url, broker, site)) as api:
        seed_registry(api)
        admin = api.add_login("admin", Role.ADMIN)
        publish_state(broker, site, "lathe-1", MachineState.RUNNING, member="giulia")
        eventually(lambda: api.state.floor.machine("lathe-1").member == "giulia", what="floor")
        broker.stop()
        eventually(lambda: not api.state.link.connected, what="the api to lose the broker")

        away = api.client.post("/api/v1/members/giulia/erase", headers=admin)
        assert away.status_code == 503 and "broker" in away.json()["detail"]
        assert api.client.get("/api/v1/members/giulia", headers=admin).json()["name"] == "(erased)"
        assert api.state.floor.machines_of("giulia") == []

        # The broker kept her state retained and hands it to the api again on reconnecting.
        broker.start()
        assert api.state.link.wait_connected(CONNECT_TIMEOUT_S)
        again = api.client.post("/api/v1/members/giulia/erase", headers=admin)
        assert again.status_code == 200, again.text
        assert again.json()["retained_states_republished"] == 1
        with MqttProbe(host=broker.host, port=broker.port) as reader:
            reader.subscribe(str(MachineTopic(site, "lathe-1", TopicKind.STATE)))
            received = reader.receive()
        retained = decode_message(received.topic, received.payload).payload
        assert isinstance(retained, StateChange) and received.retain
        assert retained.member == again.json()["erased_id"]
        assert api.state.floor.machines_of("giulia") == []


def test_a_state_naming_an_erased_member_shows_her_erased_id_even_after_a_restart(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    settings = make_settings(sqlite_url, mosquitto, site)
    with contextmanager(running_api)(settings) as api:
        seed_registry(api)
        admin = api.add_login("admin", Role.ADMIN)
        stand_in = api.client.post("/api/v1/members/giulia/erase", headers=admin).json()[
            "erased_id"
        ]
        # A gateway that had not heard of the erasure yet still names her.
        publish_state(mosquitto, site, "laser-1", MachineState.RUNNING, member="giulia")
        eventually(
            lambda: api.state.floor.machine("laser-1").state is MachineState.RUNNING,
            what="the laser's state on the floor",
        )
        assert api.state.floor.machine("laser-1").member == stand_in
    with contextmanager(running_api)(settings) as restarted:
        eventually(
            lambda: restarted.state.floor.machine("laser-1").state is MachineState.RUNNING,
            what="the laser's retained state on the restarted api's floor",
        )
        assert restarted.state.floor.machines_of("giulia") == []
        assert restarted.state.floor.machine("laser-1").member == stand_in


def test_erasure_scrubs_the_dead_letters_that_name_her_and_no_other(api: Api) -> None:
    api.state.registry.add_member(member_id="ada", name="Ada", email="ada@example.org")
    admin = api.add_login("admin", Role.ADMIN)
    ledger = SessionBook(api.state.engine)
    topic = str(MachineTopic(api.site, "lathe-1", TopicKind.SESSIONS))
    hers = ledger.dead_letter(topic, b'{"member": "ada", "by": "Ada"}', "energy_wh: negative")
    other = b'{"member": "adam", "note": "a lathe from Canada"}'
    ledger.dead_letter(topic, other, "member: unknown member 'adam'")

    export = api.client.get("/api/v1/members/ada/export", headers=admin).json()
    assert [letter["id"] for letter in export["dead_letters"]] == [hers]
    erased = api.client.post("/api/v1/members/ada/erase", headers=admin).json()

    assert erased["dead_letters_scrubbed"] == 1
    letters = {letter.id: letter.raw for letter in ledger.dead_letters(oldest_first=True)}
    stand_in = erased["erased_id"]
    assert letters[hers] == f'{{"member": "{stand_in}", "by": "(erased)"}}'.encode()
    assert other in letters.values()
