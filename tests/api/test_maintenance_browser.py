"""Headless Chromium: a fault turns a floor tile out of order live, and a coordinator uses the
maintenance page's forms to add a critical task and close the fault."""

from __future__ import annotations

from pathlib import Path

import httpx

from harness.mosquitto import MosquittoServer
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from tests.api.chromium import Chromium
from tests.api.conftest import (
    PASSWORD,
    add_login_directly,
    make_settings,
    seed_registry_of,
    served_api,
)

TILE = "document.querySelector('[data-machine=\"lathe-1\"]')"


def _token(url: str, username: str) -> str:
    answer = httpx.post(f"{url}/api/v1/login", json={"username": username, "password": PASSWORD})
    return str(answer.json()["access_token"])


def test_a_coordinator_sees_a_fault_on_the_floor_and_closes_it_from_the_machine_page(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        seed_registry_of(running.state, site)
        add_login_directly(running.state, "coord", Role.COORDINATOR)
        add_login_directly(running.state, "giulia", Role.MEMBER, member="giulia")
        member = {"Authorization": f"Bearer {_token(running.url, 'giulia')}"}
        with Chromium(profile=tmp_path / "chromium", width=1280, height=900) as browser:
            browser.set_cookie(
                url=running.url, name=SESSION_COOKIE, value=_token(running.url, "coord")
            )
            browser.open(f"{running.url}/floor?lang=en")
            browser.wait_for(f"{TILE} && document.getElementById('live').classList.contains('on')")
            reported = httpx.post(
                f"{running.url}/api/v1/machines/lathe-1/faults",
                json={"text": "belt slipping"},
                headers=member,
            )
            assert reported.status_code == 201, reported.text
            browser.wait_for(f"{TILE}.classList.contains('is-out-of-order')")
            shown = browser.evaluate(
                f"{TILE}.querySelector('[data-field=\"out_of_order\"]').innerText"
            )
            assert shown == "Out of order: fault reported"

            browser.open(f"{running.url}/machines/lathe-1/maintenance?lang=en")
            browser.wait_for("document.querySelector('[data-out-of-order]')")
            browser.evaluate(
                "(() => { const f = document.getElementById('add-task');"
                " f.querySelector('[name=title]').value = 'Check the belt';"
                " f.querySelector('[name=every_running_h]').value = '50';"
                " f.querySelector('[name=critical]').checked = true;"
                " f.requestSubmit(); })()"
            )
            browser.wait_for("document.querySelector('[data-task]')")
            browser.evaluate(
                "(() => { const f = document.querySelector('form[data-api$=\"/close\"]');"
                " f.querySelector('[name=notes]').value = 'belt tightened';"
                " f.requestSubmit(); })()"
            )
            browser.wait_for("document.querySelector('[data-in-order]')")
            assert "belt tightened" in browser.evaluate("document.body.innerText")
    tasks = running.state.maintenance.tasks(site, "lathe-1")
    assert [(t.task.title, t.task.every_running_s, t.task.critical) for t in tasks] == [
        ("Check the belt", 50 * 3600, True)
    ]
