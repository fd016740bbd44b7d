"""The bookings pages: a coordinator makes a machine bookable from its page, a member books a free
slot of its week and sees it among hers, a second member is told in words why the slot is not
hers, and coordinators cancel any booking from the list of coming ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.api.security import Role
from tests.api.conftest import Api, seed_registry
from tests.api.test_billing_pages import browse_as, post

START = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
END = START + timedelta(hours=1)


def test_members_book_from_the_week_and_coordinators_set_rules_and_cancel(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    local_day = START.astimezone(ZoneInfo(api.state.settings.timezone)).date()
    week_page = f"/machines/laser-1/bookings?date={local_day.isoformat()}"
    seed_registry(api)
    staff = api.add_login("seeder", Role.COORDINATOR)
    for member in ("giulia", "marco"):
        api.client.put(
            "/api/v1/qualifications", json={"member": member, "machine": "laser-1"}, headers=staff
        )
    csrf = browse_as(api, "coord", Role.COORDINATOR)
    assert "data-not-bookable" in api.client.get("/machines/laser-1/bookings").text
    rules = "/machines/laser-1/booking-rules"
    status, text = post(api, rules, csrf, hours="monday 8-20")
    assert status == 422 and 'data-field="hours"' in text
    status, text = post(api, rules, csrf, grace_minutes="-5")
    assert status == 422 and 'data-field="grace_minutes"' in text
    status, text = post(api, rules, csrf, plans="nosuchplan")
    assert status == 422 and 'data-field="plans"' in text
    status, where = post(api, rules, csrf, slot_minutes="60", qualified_only="on")
    assert (status, where) == (303, "/machines/laser-1/bookings?done=rules_saved")
    assert 'name="slot_minutes"' in api.client.get("/machines/laser-1/bookings").text

    csrf = browse_as(api, "giulia", Role.MEMBER, member="giulia")
    assert "data-bookings-link" in api.client.get("/machines/laser-1/day").text
    week = api.client.get(week_page).text
    assert f'data-slot="{START.isoformat()}" data-state="free"' in week
    slot = {"starts_at": START.isoformat(), "ends_at": END.isoformat()}
    status, where = post(api, "/machines/laser-1/bookings", csrf, **slot)
    assert status == 303 and where.endswith("done=booked")
    assert f'data-slot="{START.isoformat()}" data-state="yours"' in api.client.get(week_page).text
    mine = api.client.get("/members/giulia/bookings").text
    assert "data-booking=" in mine and "data-feed" in mine and ".ics" in mine
    [booking] = api.state.reservations.between(site=api.site, start=START, end=END)

    csrf = browse_as(api, "marco", Role.MEMBER, member="marco")
    status, text = post(api, "/machines/laser-1/bookings?lang=en", csrf, **slot)
    assert status == 409 and 'data-refusal="overlap"' in text
    assert "the slot is booked already" in text
    status, text = post(api, "/machines/laser-1/bookings", csrf, starts_at="soon", ends_at="x")
    assert status == 422 and 'data-field="starts_at"' in text
    assert 'data-state="taken"' in api.client.get(week_page).text
    assert api.client.get("/members/giulia/bookings").status_code == 403
    status, _ = post(api, f"/bookings/{booking.id}/cancel", csrf)
    assert status == 403
    assert api.client.get("/manage/bookings").status_code == 403

    csrf = browse_as(api, "coord2", Role.COORDINATOR)
    listed = api.client.get("/manage/bookings").text
    assert f'data-booking="{booking.id}"' in listed and "giulia" in listed
    status, where = post(api, f"/bookings/{booking.id}/cancel", csrf, back="manage")
    assert (status, where) == (303, "/manage/bookings?done=cancelled")
    assert f'data-booking="{booking.id}"' not in api.client.get("/manage/bookings").text
    status, text = post(api, f"/bookings/{booking.id}/cancel", csrf)
    assert status == 409 and 'data-refusal="not_open"' in text

    status, where = post(api, "/machines/laser-1/booking-rules/drop", csrf)
    assert (status, where) == (303, "/machines/laser-1/bookings?done=rules_dropped")
    assert "data-not-bookable" in api.client.get("/machines/laser-1/bookings").text
