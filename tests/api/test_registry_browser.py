"""Headless Chromium: an admin adds a machine and its gateway, and downloads its gateway.toml."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import httpx
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from contract import Badge, BadgeDecision, MachineTopic, TopicKind, encode_payload
from gateway.config import parse_config
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
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
from tests.api.test_registry_photos import PNG
from tests.waiting import eventually


def _fill(browser: Chromium, form: str, values: dict[str, str]) -> None:
    """Type into a form's fields and submit it as a click on its button would."""
    for name, value in values.items():
        field = f"{form}.querySelector('[name=\"{name}\"]')"
        browser.evaluate(f"{field}.value = {json.dumps(value)}")
    browser.evaluate(f"{form}.requestSubmit()")


def test_an_admin_adds_a_machine_and_downloads_its_gateway_toml(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        add_login_directly(running.state, "admin", Role.ADMIN)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "admin", "password": PASSWORD}
        ).json()["access_token"]
        with Chromium(profile=tmp_path / "chromium") as browser:
            browser.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            browser.open(f"{running.url}/manage/machines?lang=en")
            _fill(
                browser,
                "document.getElementById('add-machine')",
                {
                    "id": "mill-1",
                    "name": "Fresa",
                    "gateway": "gw-hall",
                    "idle_amps": "0.5",
                    "run_amps": "3.5",
                    "idle_timeout_s": "10",  # typed in minutes
                },
            )
            browser.wait_for("document.querySelector('[data-machine-row=\"mill-1\"]')")
            assert "Fresa" in browser.evaluate("document.body.textContent")
            saved_machine = running.state.registry.machine(site, "mill-1")
            assert saved_machine is not None
            assert (saved_machine.run_amps, saved_machine.idle_timeout_s) == (3.5, 600.0)

            photo = tmp_path / "fresa.png"
            photo.write_bytes(PNG)
            root = browser.send("DOM.getDocument")["root"]["nodeId"]
            node = browser.send(
                "DOM.querySelector", nodeId=root, selector='[data-photo-form="mill-1"] input'
            )["nodeId"]
            browser.send("DOM.setFileInputFiles", nodeId=node, files=[str(photo)])
            browser.evaluate(
                "document.querySelector('[data-photo-form=\"mill-1\"]').requestSubmit()"
            )
            browser.wait_for("document.querySelector('[data-photo-form=\"mill-1\"] img')")
            stored = running.state.registry.photo(site, "mill-1")
            assert stored is not None and stored.data == PNG

            browser.open(f"{running.url}/manage/gateways?lang=en")
            form = "document.querySelector('[data-gateway-config=\"gw-hall\"]')"
            browser.wait_for(form)
            browser.evaluate(
                f'{form}.querySelector(\'[data-wiring="mill-1"] [name="port"]\').value'
                " = '/dev/ttyACM0'"
            )
            browser.evaluate(f"{form}.requestSubmit()")
            browser.wait_for(f"!{form}.querySelector('.issued').hidden")
            shown = browser.evaluate(f"{form}.querySelector('[data-toml]').textContent")
            downloads = tmp_path / "downloads"
            downloads.mkdir()
            browser.send(
                "Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads)
            )
            browser.evaluate(f"{form}.querySelector('[data-download]').click()")
            saved = downloads / "gateway.toml"
            eventually(saved.exists, what="the browser to save gateway.toml")
            downloaded = saved.read_text(encoding="utf-8")

    assert downloaded == shown
    config = parse_config(downloaded)
    assert config.gateway == "gw-hall" and config.site == site
    (machine,) = config.machines
    assert (machine.id, machine.name) == ("mill-1", "Fresa")
    # Policy is not in the file: it reaches the gateway from the registry over its config topic.
    assert "run_amps" not in downloaded and "idle_timeout_s" not in downloaded
    assert machine.current.driver == "mcu"
    assert config.broker.username == "gateway-gw-hall"


def _typed_amounts_keep_their_cents(browser: Chromium, lang: str) -> None:
    """Any amount, written as the page's language writes it, is read back as its cents."""

    @settings(max_examples=25, deadline=None, derandomize=True)
    @given(st.lists(st.integers(0, 99_999_999_99), min_size=1, max_size=40))
    def typed_back(amounts: list[int]) -> None:
        texts = [format_decimal(Decimal(c).scaleb(-2), "#,##0.00", locale=lang) for c in amounts]
        assert browser.evaluate(f"{json.dumps(texts)}.map(centsOf)") == amounts, texts

    typed_back()


def test_amounts_typed_in_the_pages_language_reach_the_api_as_the_same_cents(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        add_login_directly(running.state, "coord", Role.COORDINATOR)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "coord", "password": PASSWORD}
        ).json()["access_token"]
        with Chromium(profile=tmp_path / "chromium") as browser:
            browser.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            for lang in ("it", "en"):
                browser.open(f"{running.url}/manage/tariffs?lang={lang}")
                browser.wait_for("typeof centsOf === 'function'")

                _typed_amounts_keep_their_cents(browser, lang)

            # And a plan saved through the form keeps its cents.
            _fill(
                browser,
                "document.querySelector('[data-plan-form]')",
                {"name": "maker", "monthly_fee": "1,234.56", "vat": "22"},
            )
            browser.wait_for("document.querySelector('[data-plan=\"maker\"]')")
        assert running.state.billing.ledger.plans()["maker"].monthly_fee_cents == 123456


def test_a_card_refused_at_a_machine_appears_on_the_open_floor_page(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    card = "9f" * 32
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        seed_registry_of(running.state, site)
        add_login_directly(running.state, "coord", Role.COORDINATOR)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "coord", "password": PASSWORD}
        ).json()["access_token"]
        with Chromium(profile=tmp_path / "chromium") as browser:
            browser.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            browser.open(f"{running.url}/floor?lang=en")
            browser.wait_for("document.getElementById('live').classList.contains('on')")
            assert browser.evaluate("document.querySelectorAll('[data-denied]').length") == 0
            refused = Badge(
                id="badge-refused-1",
                ts=int(time.time() * 1000),
                card=card,
                decision=BadgeDecision.DENIED,
                reason="unknown_card",
            )
            with MqttProbe(host=mosquitto.host, port=mosquitto.port) as gateway:
                topic = str(MachineTopic(site, "lathe-1", TopicKind.BADGES))
                gateway.publish(topic, encode_payload(refused))
            browser.wait_for("document.querySelector('[data-denied]')")
            row = browser.evaluate("document.querySelector('[data-denied]').textContent")
            page = browser.evaluate("document.body.innerHTML")
    assert "Tornio" in row and "unknown or unqualified card" in row and card[:8] in row
    assert card not in page
