"""Headless Chromium opens the live floor and sees a tile change when the emulator starts one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from contract import card_hash
from firmware_bridge.profiles import Load
from harness.mosquitto import MosquittoServer
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from services.ledger import MachineSpec
from tests.api.chromium import Chromium
from tests.api.conftest import (
    PASSWORD,
    SITE_KEY,
    add_login_directly,
    book_session,
    emulated_gateway,
    make_settings,
    served_api,
)
from tests.waiting import eventually

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CARD = "04A1B2C3"
TILE = "document.querySelector('[data-machine=\"lathe-1\"]')"


def test_the_floor_page_follows_a_machine_started_by_the_emulator(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        state = running.state
        state.registry.add_member(member_id="giulia", name="Giulia Rossi")
        for machine, name in (
            ("lathe-1", "Tornio"),
            ("laser-1", "Laser CO2"),
            ("drill-1", "Trapano"),
        ):
            state.registry.save_machine(
                MachineSpec(
                    site=site, id=machine, name=name, gateway="gw-1", idle_amps=0.8, run_amps=4.0
                )
            )
        state.registry.add_card(
            site=site, card_hash=card_hash(CARD, SITE_KEY.encode()), member="giulia"
        )
        state.registry.qualify(member="giulia", site=site, machine="lathe-1")
        state.acl.machines_changed(["lathe-1"])
        add_login_directly(state, "coord", Role.COORDINATOR)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "coord", "password": PASSWORD}
        ).json()["access_token"]

        with (
            emulated_gateway(mosquitto, site, tmp_path / "spool.db") as (emulator, gateway),
            Chromium(profile=tmp_path / "chromium", width=1280, height=720) as browser,
        ):
            worker = gateway.workers["lathe-1"]
            eventually(
                lambda: (
                    worker.sessions.access.decide(card_hash(CARD, SITE_KEY.encode()), 0).granted
                ),
                what="the gateway to take the api's access list",
            )
            browser.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            browser.open(f"{running.url}/floor?lang=en")
            browser.wait_for(f"{TILE} && document.getElementById('live').classList.contains('on')")
            browser.evaluate("window.sameDocument = true")
            assert "Tornio" in browser.evaluate(f"{TILE}.textContent")

            emulator.present_card(CARD)
            emulator.set_load(Load.RUNNING)
            browser.wait_for(f"{TILE}.classList.contains('state-running')")
            assert browser.evaluate("window.sameDocument") is True  # updated, not reloaded
            tile_text = browser.evaluate(f"{TILE}.textContent")
            assert "Giulia Rossi" in tile_text and "Running" in tile_text
            browser.wait_for(f"{TILE}.querySelector('polyline').getAttribute('points').length > 20")
            browser.screenshot(ARTIFACTS / "floor.png")

            emulator.set_load(Load.OFF)
            emulator.present_card(CARD)
            browser.wait_for(f"!{TILE}.classList.contains('state-running')")
    assert (ARTIFACTS / "floor.png").stat().st_size > 10_000


def test_a_members_month_fits_a_phone(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        state = running.state
        state.registry.add_member(member_id="giulia", name="Giulia Rossi")
        state.registry.save_machine(
            MachineSpec(
                site=site, id="lathe-1", name="Tornio", gateway="gw-1", idle_amps=1, run_amps=4
            )
        )
        for day, minutes in ((3, 40), (5, 95), (12, 20)):
            started = datetime(2026, 3, day, 9, 30, tzinfo=UTC)
            book_session(
                state, member="giulia", machine="lathe-1", started=started, minutes=minutes
            )
        add_login_directly(state, "giulia", Role.MEMBER, member="giulia")
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "giulia", "password": PASSWORD}
        ).json()["access_token"]
        with Chromium(profile=tmp_path / "chromium", width=390, height=844) as phone:
            phone.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            phone.open(f"{running.url}/members/giulia/month?month=2026-03")
            assert phone.evaluate("document.querySelectorAll('.scroll tbody tr').length") == 3
            # Nothing wider than the phone but the table, which scrolls in its own box.
            assert phone.evaluate("document.body.scrollWidth") <= 390
            phone.screenshot(ARTIFACTS / "member-month-phone.png")


def test_a_machines_month_chart_shows_on_a_phone(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        state = running.state
        state.registry.add_member(member_id="giulia", name="Giulia Rossi")
        state.registry.save_machine(
            MachineSpec(
                site=site, id="lathe-1", name="Tornio", gateway="gw-1", idle_amps=1, run_amps=4
            )
        )
        for day, minutes in ((3, 40), (5, 95), (12, 20), (30, 180)):
            started = datetime(2026, 3, day, 9, 30, tzinfo=UTC)
            book_session(
                state, member="giulia", machine="lathe-1", started=started, minutes=minutes
            )
        add_login_directly(state, "coord", Role.COORDINATOR)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "coord", "password": PASSWORD}
        ).json()["access_token"]
        with Chromium(profile=tmp_path / "chromium", width=390, height=844) as phone:
            phone.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            phone.open(f"{running.url}/machines/lathe-1/month?month=2026-03")
            chart = "document.querySelector('#chart-hours svg').getBoundingClientRect()"
            # The chart fills the phone's width at its own aspect, and nothing overflows.
            assert 300 <= phone.evaluate(f"{chart}.width") <= 390
            assert phone.evaluate(f"{chart}.height") >= 150
            assert phone.evaluate("document.body.scrollWidth") <= 390
            # The 30th's three hours stand tallest and are drawn in the running colour.
            tallest = "document.querySelectorAll('#chart-hours rect.bar-unlocked')[29]"
            assert phone.evaluate(f"{tallest}.getBoundingClientRect().height") >= 100
            assert phone.evaluate(f"getComputedStyle({tallest}).fill") != "rgb(0, 0, 0)"
            assert (
                phone.evaluate(
                    "getComputedStyle(document.querySelector('#chart-hours-data')).position"
                )
                == "absolute"
            )
            phone.screenshot(ARTIFACTS / "machine-month-phone.png")
    assert (ARTIFACTS / "machine-month-phone.png").stat().st_size > 10_000
