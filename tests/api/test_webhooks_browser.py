"""Headless Chromium: a coordinator subscribes a target and copies its secret, shown once."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from harness.mosquitto import MosquittoServer
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from services.webhooks.store import WebhookStore
from tests.api.chromium import Chromium
from tests.api.conftest import PASSWORD, add_login_directly, make_settings, served_api

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_a_coordinator_subscribes_from_the_page_and_sees_the_secret_once(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, mosquitto, site, webhooks_allow_loopback=True)
    with served_api(settings) as running:
        add_login_directly(running.state, "coord", Role.COORDINATOR)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "coord", "password": PASSWORD}
        ).json()["access_token"]
        target = "http://127.0.0.1:9/officina-events"
        with Chromium(profile=tmp_path / "chromium") as browser:
            browser.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            browser.open(f"{running.url}/manage/webhooks?lang=en")
            form = "document.getElementById('webhook-form')"
            browser.evaluate(f"{form}.elements.url.value = 'http://169.254.169.254/'")
            browser.evaluate(f"{form}.requestSubmit()")
            browser.wait_for(f"!{form}.querySelector('.error').hidden")
            refusal = browser.evaluate(f"{form}.querySelector('.error').textContent")
            assert refusal.startswith("url:") and "link-local" in refusal

            browser.evaluate(f"{form}.elements.url.value = {json.dumps(target)}")
            # Every event is offered ticked: keep only two.
            browser.evaluate(
                f"{form}.querySelectorAll('input[name=events]').forEach(box => {{"
                " box.checked = ['session.closed', 'statement.issued'].includes(box.value); })"
            )
            browser.evaluate(f"{form}.requestSubmit()")
            browser.wait_for("document.getElementById('webhook-secret').textContent.length > 0")
            shown = browser.evaluate("document.getElementById('webhook-secret').textContent")
            browser.screenshot(ARTIFACTS / "manage-webhooks.png")
            [made] = WebhookStore(running.state.engine).subscriptions()
            assert (made.url, made.secret) == (target, shown)
            assert made.events.split() == ["session.closed", "statement.issued"]

            browser.open(f"{running.url}/manage/webhooks?lang=en")
            text = browser.evaluate("document.body.textContent")
            assert target in text and shown not in text
