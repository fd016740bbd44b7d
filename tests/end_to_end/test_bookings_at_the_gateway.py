"""A booking made in the pages reaches a real gateway process, which keeps the slot for its booker:
a walk-in is refused `booked`, the booker is let in and warned of the next booking after hers,
and it goes on doing so once the broker is stopped under it.

Real parts throughout: a Mosquitto of the test's own (stopped half-way), the api on a SQLite
ledger, and `officina gateway run` as its own process on the emulated board; what the gateway
decides is read from the emulated relay and the gateway's log, as a technician would.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firmware_bridge.emulator import Emulator
from harness.plugin import MosquittoFactory
from services.api.security import Role
from services.ledger.reservations import BookingStatus
from tests.api.conftest import MovableClock, make_settings, running_api
from tests.api.test_billing_pages import browse_as, post
from tests.end_to_end.test_out_of_order_at_the_gateway import (
    GIULIA_CARD,
    MACHINE,
    MARCO_CARD,
    gateway_process,
    gateway_toml,
    seed,
)
from tests.waiting import eventually

SLOT = timedelta(minutes=5)


def _lines(log: Path, text: str) -> int:
    """How many lines of the gateway's log say `text`."""
    return sum(text in line for line in log.read_text().splitlines()) if log.exists() else 0


def _badge(emulator: Emulator, log: Path, card: str, said: str) -> None:
    """Present a card and wait for the gateway's log to say one more `said`."""
    before = _lines(log, said)
    emulator.present_card(card)
    eventually(lambda: _lines(log, said) > before, timeout=20, what=f"{card}: {said}")


def test_a_booking_made_in_the_pages_is_kept_at_a_running_gateway_with_the_broker_down(
    sqlite_url: str, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    site = f"site-{secrets.token_hex(4)}"
    now = datetime.now(UTC)
    # The slot under way now: the api's clock is set before it, so it may still be booked.
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
    clock = MovableClock()
    clock.move_to(start - timedelta(minutes=10))
    log = tmp_path / "gateway.log"
    denied, warned = "denied (booked)", "(booking)"
    with Emulator("lathe", sample_period_s=0.2, seed=5) as emulator:
        for api in running_api(make_settings(sqlite_url, broker, site), clock=clock):
            seed(api)
            staff = api.add_login("seeder", Role.COORDINATOR)
            for member in ("giulia", "marco"):
                granted = api.client.put(
                    "/api/v1/qualifications",
                    json={"member": member, "machine": MACHINE},
                    headers=staff,
                )
                assert granted.status_code == 200, granted.text
            rules = {"slot_minutes": 5, "warn_before_minutes": 60}
            saved = api.client.put(
                f"/api/v1/machines/{MACHINE}/booking-rules", json=rules, headers=staff
            )
            assert saved.status_code == 200, saved.text
            config = gateway_toml(
                tmp_path / "gateway.toml", site=site, broker=broker, port=emulator.port
            )
            with gateway_process(config, log):
                csrf = browse_as(api, "giulia", Role.MEMBER, member="giulia")
                hers = {"starts_at": start.isoformat(), "ends_at": (start + 2 * SLOT).isoformat()}
                status, where = post(api, f"/machines/{MACHINE}/bookings", csrf, **hers)
                assert status == 303 and where.endswith("done=booked"), where
                csrf = browse_as(api, "marco", Role.MEMBER, member="marco")
                after = {
                    "starts_at": (start + 2 * SLOT).isoformat(),
                    "ends_at": (start + 3 * SLOT).isoformat(),
                }
                status, where = post(api, f"/machines/{MACHINE}/bookings", csrf, **after)
                assert status == 303, where
                status, text = post(api, f"/machines/{MACHINE}/bookings", csrf, **hers)
                assert status == 409 and 'data-refusal="overlap"' in text
                eventually(
                    lambda: _lines(log, "2 bookings on 1 machines") >= 1,
                    timeout=30,
                    what="the gateway to take both bookings",
                )
                eventually(
                    lambda: _lines(log, "access list v") >= 1,
                    timeout=30,
                    what="the gateway to take the access list",
                )

                # Marco walks in during giulia's slot: refused. Giulia is let in, and warned.
                _badge(emulator, log, MARCO_CARD, denied)
                assert not emulator.relay_energised
                _badge(emulator, log, GIULIA_CARD, warned)
                eventually(lambda: emulator.relay_energised, what="the relay closed for giulia")
                _badge(emulator, log, GIULIA_CARD, "closed (badge_out)")
                eventually(lambda: not emulator.relay_energised, what="giulia badged out")

                # The broker goes away; the gateway keeps deciding from what it holds.
                broker.stop()
                eventually(lambda: _lines(log, "lost the broker") >= 1, what="the gateway offline")
                _badge(emulator, log, MARCO_CARD, denied)
                assert not emulator.relay_energised
                _badge(emulator, log, GIULIA_CARD, warned)
                eventually(lambda: emulator.relay_energised, what="giulia let in offline")
                _badge(emulator, log, GIULIA_CARD, "closed (badge_out)")
                eventually(lambda: not emulator.relay_energised, what="giulia out offline")
                broker.start()
            [made] = api.state.reservations.between(
                site=site, machine=MACHINE, start=start, end=start + SLOT, member="giulia"
            )
            assert made.status is BookingStatus.MADE
