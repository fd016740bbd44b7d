"""A tariff's booking fee and no-show charge, set through the api, reach the month's statement:
the booking used is a fee line, the one nobody came for a no-show line, the cancelled one nothing;
on the statement page and in its PDF."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from harness.mosquitto import MosquittoServer
from services.api.security import Role
from services.billing.months import Month
from services.billing.records import LineKind
from services.ledger.models import BadgeEventRow
from tests.api.conftest import Api, MovableClock, make_settings, running_api, seed_registry
from tests.api.test_billing_pages import browse_as, post

MARCH = "2026-03"


@pytest.fixture
def clock() -> MovableClock:
    """The api's clock, set in March 2026 so that its bookings can be made and then settled."""
    moved = MovableClock()
    moved.move_to(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    return moved


@pytest.fixture
def march_api(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, clock: MovableClock
) -> Iterator[Api]:
    """The api on SQLite, on the moved clock."""
    yield from running_api(make_settings(sqlite_url, mosquitto, site), clock=clock)


def _book(api: Api, headers: dict[str, str], day: int) -> int:
    start = datetime(2026, 3, day, 9, 0, tzinfo=UTC)
    slot = {
        "machine": "lathe-1",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
    }
    made = api.client.post("/api/v1/bookings", json=slot, headers=headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_booking_fees_and_no_shows_are_lines_of_the_month_and_cancelled_ones_are_not(
    march_api: Api, clock: MovableClock
) -> None:
    api = march_api
    seed_registry(api)
    staff = api.add_login("seeder", Role.COORDINATOR)
    bad = {"valid_from": "2026-01-01", "machine": "lathe-1", "no_show": "-1"}
    refused = api.client.post("/api/v1/tariffs", json=bad, headers=staff)
    assert refused.status_code == 422 and "no_show" in refused.text
    tariff = {
        "valid_from": "2026-01-01",
        "machine": "lathe-1",
        "booking_fee": "1.50",
        "no_show": "5",
        "vat": "22",
    }
    created = api.client.post("/api/v1/tariffs", json=tariff, headers=staff)
    assert created.status_code == 201, created.text
    assert (created.json()["booking_fee"], created.json()["no_show"]) == ("1.50", "5.00")
    rules = {"qualified_only": False, "horizon_days": 30}
    put = api.client.put("/api/v1/machines/lathe-1/booking-rules", json=rules, headers=staff)
    assert put.status_code == 200, put.text

    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    marco = api.add_login("marco", Role.MEMBER, member="marco")
    used, missed = _book(api, giulia, 10), _book(api, giulia, 11)
    cancelled = _book(api, marco, 12)
    assert api.client.delete(f"/api/v1/bookings/{cancelled}", headers=marco).status_code == 200
    with Session(api.state.reservations.engine) as db, db.begin():
        db.add(
            BadgeEventRow(
                id="badge-used",
                site=api.site,
                machine="lathe-1",
                card_hash="0" * 64,
                decision="granted",
                reason="ok",
                member="giulia",
                at=datetime(2026, 3, 10, 9, 3, tzinfo=UTC),
                received_at=datetime(2026, 3, 10, 9, 3, tzinfo=UTC),
            )
        )
    clock.move_to(datetime(2026, 4, 2, 8, 0, tzinfo=UTC))
    assert {b.id: b.status for b in api.state.reservations.settle()} == {
        used: "used",
        missed: "no_show",
    }

    csrf = browse_as(api, "treasurer", Role.ADMIN)
    assert 'data-booking-fee="150"' in api.client.get("/manage/tariffs").text
    status, _ = post(api, "/manage/statements/drafts", csrf, month=MARCH)
    assert status == 303
    statements = api.state.billing.ledger.statements(Month.parse(MARCH))
    assert [s.member for s in statements] == ["giulia"]  # marco cancelled: nothing owed
    [statement] = statements
    fees = [(x.reference, x.net_cents) for x in statement.lines_of_kind(LineKind.BOOKING_FEE)]
    shows = [(x.reference, x.net_cents) for x in statement.lines_of_kind(LineKind.NO_SHOW)]
    assert (fees, shows) == ([(str(used), 150)], [(str(missed), 500)])
    assert statement.net_cents == 650 and statement.vat_cents == 143

    page = api.client.get(f"/manage/statements/{statement.id}?lang=en").text
    assert "data-booking-lines" in page and "No-show" in page and "Booking used" in page
    pdf = api.client.get(f"/manage/statements/{statement.id}/pdf?lang=en")
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Prenotazioni" in text and "Prenotazione mancata" in text
    csv = api.client.get(f"/manage/statements/{statement.id}/csv").text
    assert "booking_fee" in csv and "no_show" in csv
