"""`/api/v1/bookings`: a member books and cancels her own, staff anyone's; calendar feeds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from contract import GatewayBookings, GatewayTopic, TopicKind, decode_message
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.security import Role
from services.ledger.reservations import BookingRules
from tests.api.conftest import Api, seed_registry

START = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def _slot(machine: str = "laser-1") -> dict[str, str]:
    end = START + timedelta(hours=1)
    return {"machine": machine, "starts_at": START.isoformat(), "ends_at": end.isoformat()}


def test_a_member_books_lists_and_cancels_her_own_and_not_another_s(api: Api) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    for member in ("giulia", "marco"):
        api.client.put(
            "/api/v1/qualifications", json={"member": member, "machine": "laser-1"}, headers=staff
        )
    api.state.reservations.save_rules(BookingRules(site=api.site, machine="laser-1"))
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    marco = api.add_login("marco", Role.MEMBER, member="marco")

    made = api.client.post("/api/v1/bookings", json=_slot(), headers=giulia)
    assert made.status_code == 201, made.text
    booking = made.json()["id"]
    clash = api.client.post("/api/v1/bookings", json=_slot(), headers=marco)
    assert clash.status_code == 409
    assert "overlap" in clash.json()["detail"]
    unknown = api.client.post("/api/v1/bookings", json=_slot("lathe-1"), headers=marco)
    assert unknown.status_code == 409
    assert "not_bookable" in unknown.json()["detail"]

    mine = api.client.get("/api/v1/bookings", headers=giulia).json()
    assert [b["id"] for b in mine] == [booking]
    assert api.client.get("/api/v1/bookings", headers=marco).json() == []
    assert api.client.delete(f"/api/v1/bookings/{booking}", headers=marco).status_code == 403

    path = api.client.get("/api/v1/bookings/calendar-token", headers=giulia).json()["path"]
    calendar = api.client.get(path)
    assert calendar.status_code == 200
    assert calendar.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in calendar.text
    assert f"UID:booking-{booking}@" in calendar.text
    wrong = path.replace(path.rsplit("/", 1)[1], "0" * 32 + ".ics")
    assert api.client.get(wrong).status_code == 404

    cancelled = api.client.delete(f"/api/v1/bookings/{booking}", headers=giulia)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = api.client.delete(f"/api/v1/bookings/{booking}", headers=staff)
    assert again.status_code == 409


def test_coordinators_set_booking_rules_and_bad_ones_are_refused_naming_the_field(
    api: Api,
) -> None:
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    path = "/api/v1/machines/laser-1/booking-rules"
    assert api.client.get(path, headers=staff).status_code == 404
    rules = {"slot_minutes": 30, "hours": "mon-fri 08:00-20:00", "closures": "2026-12-25"}
    saved = api.client.put(path, json=rules, headers=staff)
    assert saved.status_code == 200, saved.text
    assert saved.json()["slot_minutes"] == 30
    assert api.client.get(path, headers=staff).json()["hours"] == "mon-fri 08:00-20:00"
    for bad, field in (
        ({"hours": "monday 8-20"}, "hours"),
        ({"closures": "christmas"}, "closures"),
        ({"grace_minutes": -5}, "grace_minutes"),
        ({"plans": ["nosuchplan"]}, "plans"),
    ):
        refused = api.client.put(path, json=bad, headers=staff)
        assert refused.status_code == 422, (bad, refused.text)
        assert field in refused.text
    assert (
        api.client.put("/api/v1/machines/nosuch/booking-rules", json={}, headers=staff).status_code
        == 404
    )

    assert api.client.delete(path, headers=staff).status_code == 204
    assert api.client.get(path, headers=staff).status_code == 404
    assert api.client.delete(path, headers=staff).status_code == 404
    refused = api.client.post(
        "/api/v1/bookings", json=_slot() | {"member": "giulia"}, headers=staff
    )
    assert refused.status_code == 409
    assert "not_bookable" in refused.json()["detail"]


def test_the_gateway_is_sent_new_opening_hours_and_nothing_once_the_rules_are_dropped(
    sqlite_api: Api, mosquitto: MosquittoServer
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    path = "/api/v1/machines/laser-1/booking-rules"
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        probe.subscribe(GatewayTopic.filter(api.site, "+", TopicKind.BOOKINGS))

        def next_plan(wanted: Callable[[GatewayBookings], bool]) -> GatewayBookings:
            while True:
                received = probe.receive(timeout=10)
                payload = decode_message(received.topic, received.payload).payload
                if isinstance(payload, GatewayBookings) and wanted(payload):
                    return payload

        rules = {"hours": "mon-sun 08:00-09:00"}
        assert api.client.put(path, json=rules, headers=staff).status_code == 200
        sent = next_plan(lambda p: any(m.open for m in p.machines))
        [laser] = sent.machines
        assert laser.machine == "laser-1" and laser.open is not None
        # Three days ahead, one hour a day (a fourth when the window starts within the hour).
        assert 3 <= len(laser.open) <= 4
        assert all(w.end - w.start <= 3_600_000 for w in laser.open)

        assert api.client.delete(path, headers=staff).status_code == 204
        dropped = next_plan(lambda p: p.version > sent.version)
        assert dropped.machines == ()
