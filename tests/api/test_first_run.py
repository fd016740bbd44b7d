"""A fresh site's first visit: /setup makes the first admin, once, for someone at the server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.mosquitto import MosquittoServer
from services.api.security import Role
from services.api.settings import ApiSettings
from tests.api.chromium import Chromium
from tests.api.conftest import (
    PASSWORD,
    ServedApi,
    add_login_directly,
    make_settings,
    running_api,
    served_api,
)

ADMIN = "ada"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ADMIN_PASSWORD = "the first admin, a long password"


@pytest.fixture
def settings(sqlite_url: str, mosquitto: MosquittoServer, site: str) -> ApiSettings:
    """A fresh site: a ledger with nobody in it."""
    return make_settings(sqlite_url, mosquitto, site)


@pytest.fixture
def fresh_api(settings: ApiSettings) -> Iterator[ServedApi]:
    """The api served on loopback, as `officina api run` on the server itself."""
    with served_api(settings) as served:
        yield served


def _open_form(browser: httpx.Client) -> str:
    page = browser.get("/setup")
    assert page.status_code == 200, page.text
    token = re.search(r'<meta name="csrf" content="([0-9a-f]+)">', page.text)
    assert token is not None, page.text
    return token.group(1)


def _form(password_again: str = ADMIN_PASSWORD) -> dict[str, str]:
    return {"username": ADMIN, "password": ADMIN_PASSWORD, "password_again": password_again}


def test_setup_from_loopback_makes_the_first_admin_once(fresh_api: ServedApi) -> None:
    with httpx.Client(base_url=fresh_api.url) as browser:
        assert 'href="/setup"' in browser.get("/login").text
        token = _open_form(browser)
        unsigned = browser.post("/setup", json=_form())
        assert unsigned.status_code == 403
        assert "X-CSRF-Token" in unsigned.text
        mismatch = browser.post(
            "/setup", json=_form("another one"), headers={"X-CSRF-Token": token}
        )
        assert mismatch.status_code == 422
        assert mismatch.json()["detail"][0]["loc"] == ["body", "password_again"]
        made = browser.post("/setup", json=_form(), headers={"X-CSRF-Token": token})
        assert made.status_code == 201, made.text
        again = browser.post("/setup", json=_form(), headers={"X-CSRF-Token": token})
        assert again.status_code == 404
        gone = browser.get("/setup", follow_redirects=False)
        assert (gone.status_code, gone.headers["location"]) == (303, "/login")
        assert 'href="/setup"' not in browser.get("/login").text
        login = browser.post("/api/v1/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
        assert login.status_code == 200
        assert login.json()["role"] == "admin"
    assert fresh_api.state.rejections.snapshot()["X-CSRF-Token"] == 1


def test_setup_refuses_when_a_login_exists(fresh_api: ServedApi) -> None:
    add_login_directly(fresh_api.state, "cora", Role.COORDINATOR)
    with httpx.Client(base_url=fresh_api.url) as browser:
        page = browser.get("/setup", follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/login")
        assert 'href="/setup"' not in browser.get("/login").text
        assert browser.post("/setup", json=_form()).status_code == 404
    assert browser_login_works(fresh_api, "cora", PASSWORD)


def browser_login_works(api: ServedApi, username: str, password: str) -> bool:
    """Whether the login answers 200 for these credentials."""
    answer = httpx.post(
        f"{api.url}/api/v1/login", json={"username": username, "password": password}
    )
    return answer.status_code == 200


def test_setup_is_not_offered_through_a_proxy_or_from_elsewhere(
    fresh_api: ServedApi, settings: ApiSettings
) -> None:
    with httpx.Client(base_url=fresh_api.url) as browser:
        forwarded = {"X-Forwarded-For": "203.0.113.7"}
        assert browser.get("/setup", headers=forwarded, follow_redirects=False).status_code == 303
        assert 'href="/setup"' not in browser.get("/login", headers=forwarded).text
    # The test client's peer is no loopback address: a visitor from another machine.
    for api in running_api(settings):
        assert api.client.get("/setup", follow_redirects=False).status_code == 303
        assert api.client.post("/setup", json=_form()).status_code == 404


def test_setup_attempts_are_rate_limited(fresh_api: ServedApi) -> None:
    with httpx.Client(base_url=fresh_api.url) as browser:
        token = _open_form(browser)
        headers = {"X-CSRF-Token": token}
        answers = [
            browser.post("/setup", json=_form("not the same"), headers=headers).status_code
            for _ in range(6)
        ]
        assert answers == [422] * 5 + [429]
        assert browser.post("/setup", json=_form(), headers=headers).status_code == 429


def test_the_first_admin_is_made_in_a_browser_then_logs_in(
    fresh_api: ServedApi, tmp_path: Path
) -> None:
    with Chromium(profile=tmp_path / "chromium") as browser:
        browser.open(f"{fresh_api.url}/login")
        browser.evaluate("document.querySelector('a[href=\"/setup\"]').click()")
        browser.wait_for("location.pathname === '/setup' && document.readyState === 'complete'")
        browser.screenshot(ARTIFACTS / "first-run-setup.png")
        browser.evaluate(
            "(() => { const form = document.getElementById('setup');"
            f" form.username.value = '{ADMIN}';"
            f" form.password.value = form.password_again.value = '{ADMIN_PASSWORD}';"
            " form.requestSubmit(); })()"
        )
        browser.wait_for("location.pathname === '/login' && document.readyState === 'complete'")
        assert not browser.evaluate("Boolean(document.querySelector('a[href=\"/setup\"]'))")
        browser.evaluate(
            "(() => { const form = document.getElementById('login');"
            f" form.username.value = '{ADMIN}'; form.password.value = '{ADMIN_PASSWORD}';"
            " form.requestSubmit(); })()"
        )
        browser.wait_for("location.pathname === '/' || location.pathname === '/floor'")


def test_setup_is_not_offered_when_the_loopback_peer_is_a_trusted_proxy(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    settings = make_settings(sqlite_url, mosquitto, site, trusted_proxies=("127.0.0.0/8",))
    with served_api(settings) as behind_proxy, httpx.Client(base_url=behind_proxy.url) as browser:
        assert browser.get("/setup", follow_redirects=False).status_code == 303
        assert browser.post("/setup", json=_form()).status_code == 404
