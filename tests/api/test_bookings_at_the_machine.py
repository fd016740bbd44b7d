"""A booking made through the api reaches a running gateway, which keeps the slot for its booker."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.mosquitto import MosquittoServer
from services.api.security import Role
from services.ledger.reservations import BookingRules
from tests.api.conftest import (
    Api,
    MovableClock,
    emulated_gateway,
    make_settings,
    running_api,
    seed_registry,
)
from tests.waiting import eventually

GIULIA, MARCO = "04A1B2C3", "0BADCAFE"
SLOT = timedelta(minutes=5)


@pytest.fixture
def booked_api(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, clock: MovableClock
) -> Iterator[Api]:
    """The api on SQLite with a bookable lathe, two qualified members and their cards."""
    for api in running_api(make_settings(sqlite_url, mosquitto, site), clock=clock):
        seed_registry(api)
        staff = api.add_login("coord", Role.COORDINATOR)
        for member, uid in (("giulia", GIULIA), ("marco", MARCO)):
            api.client.post("/api/v1/cards", json={"member": member, "uid": uid}, headers=staff)
            api.client.put(
                "/api/v1/qualifications",
                json={"member": member, "machine": "lathe-1"},
                headers=staff,
            )
        api.state.reservations.save_rules(
            BookingRules(site=api.site, machine="lathe-1", slot_minutes=5, warn_before_minutes=60)
        )
        yield api


def test_a_booking_reaches_the_gateway_which_keeps_the_slot_for_its_booker_offline_too(
    booked_api: Api, mosquitto: MosquittoServer, clock: MovableClock, tmp_path: Path
) -> None:
    api = booked_api
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
    clock.move_to(start - timedelta(minutes=10))
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
    marco = api.add_login("marco", Role.MEMBER, member="marco")
    spool = tmp_path / "spool.db"
    with emulated_gateway(mosquitto, api.site, spool) as (emulator, gateway):
        made = api.client.post(
            "/api/v1/bookings",
            json={
                "machine": "lathe-1",
                "starts_at": start.isoformat(),
                "ends_at": (start + 2 * SLOT).isoformat(),
            },
            headers=giulia,
        )
        assert made.status_code == 201, made.text
        # Marco books the slot right after hers: whoever runs the lathe is warned of it.
        after = api.client.post(
            "/api/v1/bookings",
            json={
                "machine": "lathe-1",
                "starts_at": (start + 2 * SLOT).isoformat(),
                "ends_at": (start + 3 * SLOT).isoformat(),
            },
            headers=marco,
        )
        assert after.status_code == 201, after.text
        taken = api.client.post(
            "/api/v1/bookings",
            json={
                "machine": "lathe-1",
                "starts_at": start.isoformat(),
                "ends_at": (start + SLOT).isoformat(),
            },
            headers=marco,
        )
        assert taken.status_code == 409
        assert "overlap" in taken.json()["detail"]
        gate = gateway.reservations["lathe-1"]
        eventually(lambda: len(gate.bookings) == 2, what="the gateway to take both bookings")
        assert eventually_cached(spool)

        emulator.present_card(MARCO)
        eventually(
            lambda: gateway.counters.get("lathe-1.badges.denied.booked", 0) == 1,
            what="the walk-in refused during giulia's slot",
        )
        assert not emulator.relay_energised
        emulator.present_card(GIULIA)
        eventually(lambda: emulator.relay_energised, what="the relay to close for giulia")
        eventually(
            lambda: gateway.counters.get("lathe-1.lock_warnings", 0) >= 1,
            what="the warning of marco's booking after hers",
        )
        emulator.present_card(GIULIA)
        eventually(lambda: not emulator.relay_energised, what="giulia to badge out")

    # The broker is gone (a dead port) and the gateway restarted: the bookings come from disk.
    with emulated_gateway(mosquitto, api.site, spool, offline=True) as (emulator, gateway):
        gate = gateway.reservations["lathe-1"]
        assert len(gate.bookings) == 2
        emulator.present_card(MARCO)
        eventually(
            lambda: gateway.counters.get("lathe-1.badges.denied.booked", 0) == 1,
            what="the walk-in refused offline",
        )
        emulator.present_card(GIULIA)
        eventually(lambda: emulator.relay_energised, what="the relay to close for giulia offline")


def eventually_cached(spool: Path) -> bool:
    """Whether the gateway's spool holds bookings."""
    with sqlite3.connect(spool) as db:
        (count,) = db.execute("SELECT count(*) FROM gateway_bookings").fetchone()
    return bool(count == 1)
