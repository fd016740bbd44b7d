"""`/api/v1/bookings`: a member books and cancels her own, staff anyone's; calendar feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
