"""Refused cards and use with nobody badged in, where a coordinator looks: the floor, a day."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from contract import MachineState, MachineTopic, Telemetry, TopicKind, encode_payload
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.security import Role
from services.ledger import BadgeEventRow
from tests.api.conftest import PASSWORD, Api, book_session, publish_state, seed_registry
from tests.waiting import eventually

REFUSED_CARD = "ab12" * 16
GRANTED_CARD = "cd34" * 16


def _browse_as(api: Api, username: str, role: Role, member: str | None = None) -> None:
    api.add_login(username, role, member=member)
    answer = api.client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200


def _badge(api: Api, event: str, card: str, decision: str, reason: str, at: datetime) -> None:
    with api.state.open_db() as db:
        db.add(
            BadgeEventRow(
                id=event,
                site=api.site,
                machine="lathe-1",
                card_hash=card,
                decision=decision,
                reason=reason,
                member="giulia" if decision == "granted" else None,
                at=at,
                received_at=at,
            )
        )
        db.commit()


def test_a_refused_card_shows_on_the_floor_and_the_day_in_words_and_short(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    seed_registry(api)
    an_hour_ago = api.state.clock() - timedelta(hours=1)
    _badge(api, "b-1", REFUSED_CARD, "denied", "unknown_card", an_hour_ago)
    _badge(api, "b-2", GRANTED_CARD, "granted", "ok", an_hour_ago)
    _badge(api, "b-3", REFUSED_CARD, "denied", "expired", an_hour_ago - timedelta(days=3))
    _browse_as(api, "coord", Role.COORDINATOR)

    floor = api.client.get("/floor?lang=en").text
    assert "Recent events" in floor and floor.count("data-denied") == 1
    assert "unknown or unqualified card" in floor and REFUSED_CARD[:8] in floor
    assert REFUSED_CARD not in floor and GRANTED_CARD[:8] not in floor
    assert "Tornio" in floor

    day = an_hour_ago.astimezone(ZoneInfo(api.state.settings.timezone)).date()
    page = api.client.get(f"/machines/lathe-1/day?date={day.isoformat()}&lang=it").text
    assert "Eventi recenti" in page and "tessera sconosciuta" in page
    assert REFUSED_CARD not in page


def test_a_member_sees_no_refusals(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    _badge(api, "b-1", REFUSED_CARD, "denied", "unknown_card", api.state.clock())
    _browse_as(api, "giulia", Role.MEMBER, member="giulia")
    floor = api.client.get("/floor?lang=en").text
    assert "Recent events" not in floor and REFUSED_CARD[:8] not in floor


def test_a_locked_machine_drawing_current_is_shown_as_use_with_no_badge(
    sqlite_api: Api, mosquitto: MosquittoServer
) -> None:
    api = sqlite_api
    seed_registry(api)
    publish_state(mosquitto, api.site, "lathe-1", MachineState.LOCKED)
    publish_state(mosquitto, api.site, "laser-1", MachineState.LOCKED)
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as gateway:
        for machine, amps in (("lathe-1", 3.2), ("laser-1", 0.1)):
            reading = Telemetry(
                id=f"t-{machine}", ts=1_700_000_000_000, seq=1, amps=amps, state=MachineState.LOCKED
            )
            topic = str(MachineTopic(api.site, machine, TopicKind.TELEMETRY))
            gateway.publish(topic, encode_payload(reading))
    eventually(
        lambda: (
            {live.machine: live.amps for live in api.state.floor.machines()}
            == {"lathe-1": 3.2, "laser-1": 0.1}
        ),
        what="both machines' current on the floor",
    )
    _browse_as(api, "coord", Role.COORDINATOR)
    floor = api.client.get("/floor?lang=en").text
    shown = re.findall(r'data-field="unattributed" data-idle-amps="[^"]*" ?(hidden)?', floor)
    assert sorted(shown) == ["", "hidden", "hidden"]  # lathe shown; laser and the template not
    assert "Tornio</a>: In use with no badge" in floor
    assert "Laser</a>: In use" not in floor


def test_the_days_sessions_name_the_member_and_the_end_reason_in_words(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    started = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    book_session(api.state, member="giulia", machine="lathe-1", started=started, minutes=30)
    _browse_as(api, "coord", Role.COORDINATOR)
    page = api.client.get("/machines/lathe-1/day?date=2026-03-10&lang=en").text
    assert "Giulia Rossi" in page and "badged out" in page and ">Tornio</a>" in page
    assert "badge_out" not in page
