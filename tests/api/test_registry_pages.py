"""The registry pages: machines, gateways and tariffs for staff, a gateway.toml that loads."""

from __future__ import annotations

import re

import pytest

from gateway.config import parse_config
from harness.mosquitto import MosquittoServer
from services.api.errors import SettingsError
from services.api.security import Role
from tests.api.conftest import (
    PASSWORD,
    SITE_KEY,
    Api,
    make_settings,
    running_api,
    seed_registry,
)

LATHE: dict[str, object] = {
    "machine": "lathe-1",
    "driver": "mcu",
    "port": "/dev/ttyACM0",
    "channel": 1,
}
LASER: dict[str, object] = {"machine": "laser-1", "driver": "pzem004t", "port": "/dev/ttyUSB0"}
WIRING = {"machines": [LATHE, LASER]}


def _browse_as(api: Api, username: str, role: Role, member: str | None = None) -> str:
    """Log in as the login page does (the client keeps the cookie); the CSRF token."""
    api.add_login(username, role, member=member)
    answer = api.client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200
    return str(answer.json()["csrf"])


def test_registry_pages_send_visitors_to_login_and_members_away(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    for page in ("/manage/machines", "/manage/gateways", "/manage/tariffs"):
        answer = api.client.get(page, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={page}"
    _browse_as(api, "giulia", Role.MEMBER, member="giulia")
    for page in ("/manage/machines", "/manage/gateways", "/manage/tariffs"):
        assert api.client.get(page).status_code == 403


def test_the_machines_page_names_machines_and_their_gateway(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    _browse_as(api, "coord", Role.COORDINATOR)
    page = api.client.get("/manage/machines?lang=en")
    assert page.status_code == 200
    assert "Tornio" in page.text and "Laser" in page.text and "gw-1" in page.text
    assert 'data-machine-form data-machine="lathe-1"' in page.text
    assert 'href="/manage/gateways"' in page.text and "Tariffs" in page.text


def test_a_machine_saved_from_the_page_needs_the_csrf_header(sqlite_api: Api) -> None:
    api = sqlite_api
    csrf = _browse_as(api, "coord", Role.COORDINATOR)
    body = {"name": "Fresa", "gateway": "gw-2", "idle_amps": "0.5", "run_amps": "3"}
    refused = api.client.put("/api/v1/machines/mill-1", json=body)
    assert refused.status_code == 403
    saved = api.client.put("/api/v1/machines/mill-1", json=body, headers={"X-CSRF-Token": csrf})
    assert saved.status_code == 200, saved.text
    assert "Fresa" in api.client.get("/manage/machines").text


def test_a_retired_machine_is_marked_and_leaves_its_gateways_config(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    csrf = {"X-CSRF-Token": _browse_as(api, "coord", Role.COORDINATOR)}
    api.state.registry.qualify(member="giulia", site=api.site, machine="laser-1")
    api.state.registry.add_card(site=api.site, card_hash="ef" * 32, member="giulia")
    assert len(api.client.get("/api/v1/machines/laser-1/acl").json()["entries"]) == 1
    retired = api.client.post("/api/v1/machines/laser-1/retire", headers=csrf)
    assert retired.status_code == 200 and retired.json()["retired_at"] is not None
    assert api.client.post("/api/v1/machines/nope-1/retire", headers=csrf).status_code == 404
    assert api.client.get("/api/v1/machines/laser-1/acl").json()["entries"] == []
    page = api.client.get("/manage/machines?lang=en").text
    assert "Retired on" in page
    assert 'data-machine="laser-1"' not in page  # no edit form for a retired machine
    gateways = api.client.get("/manage/gateways?lang=en").text
    assert "Tornio" in gateways and "Laser" not in gateways


def test_an_admin_gets_a_gateway_toml_the_gateway_loads(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    admin = api.add_login("admin", Role.ADMIN)
    answer = api.client.post("/api/v1/gateways/gw-1/config", json=WIRING, headers=admin)
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/toml")
    assert "gateway.toml" in answer.headers["content-disposition"]
    config = parse_config(answer.text)
    assert (config.site, config.gateway) == (api.site, "gw-1")
    assert config.site_key.get_secret_value() == SITE_KEY
    assert config.broker.username == "gateway-gw-1" and config.broker.password is not None
    machines = {m.id: m for m in config.machines}
    assert machines["lathe-1"].name == "Tornio"
    assert "run_amps" not in answer.text  # policy travels on the gateway's config topic
    assert machines["lathe-1"].current.driver == "mcu" and machines["lathe-1"].relay is not None
    assert machines["laser-1"].current.driver == "pzem004t" and machines["laser-1"].relay is None
    # The password in the file is the gateway's new api login too; it is shown only here.
    password = config.broker.password.get_secret_value()
    login = {"username": "gateway-gw-1", "password": password}
    assert api.client.post("/api/v1/login", json=login).status_code == 200
    listed = api.client.get("/api/v1/gateways", headers=admin).text
    assert password not in listed


def test_the_gateway_toml_broker_url_is_the_setting_else_the_apis_broker(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    admin = api.add_login("admin", Role.ADMIN)
    text = api.client.post("/api/v1/gateways/gw-1/config", json=WIRING, headers=admin).text
    broker = api.state.settings.broker
    assert parse_config(text).broker.url == f"mqtt://{broker.host}:{broker.port}"


def test_gateway_config_refuses_bad_wiring_naming_the_field(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    admin = api.add_login("admin", Role.ADMIN)
    url = "/api/v1/gateways/gw-1/config"
    lathe, laser = LATHE, LASER
    cases = {
        "driver": {"machines": [lathe | {"driver": "toaster"}, laser]},
        "port": {"machines": [lathe | {"port": "C:\\com1"}, laser]},
        "channel": {"machines": [lathe | {"channel": 99}, laser]},
        "machines.0.machine": {"machines": [lathe | {"machine": "drill-9"}, laser]},
        "machines": {"machines": [lathe]},
    }
    for field, body in cases.items():
        answer = api.client.post(url, json=body, headers=admin)
        assert answer.status_code == 422, (field, answer.text)
        assert field in answer.text, (field, answer.text)
    same_port = {"machines": [lathe, laser | {"port": lathe["port"]}]}
    assert "port of its own" in api.client.post(url, json=same_port, headers=admin).text
    no_machines = api.client.post("/api/v1/gateways/gw-9/config", json=WIRING, headers=admin)
    assert no_machines.status_code == 422 and "not a machine of this gateway" in no_machines.text


def test_only_an_admin_issues_a_gateway_toml(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    coord = api.add_login("coord", Role.COORDINATOR)
    answer = api.client.post("/api/v1/gateways/gw-1/config", json=WIRING, headers=coord)
    assert answer.status_code == 403
    _browse_as(api, "coord2", Role.COORDINATOR)
    page = api.client.get("/manage/gateways?lang=en").text
    assert "gw-1" in page and "Tornio" in page and "data-gateway-config" not in page


def test_the_tariffs_page_shows_prices_in_the_pages_language(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    csrf = {"X-CSRF-Token": _browse_as(api, "coord", Role.COORDINATOR)}
    body = {
        "valid_from": "2026-01-01",
        "machine": "lathe-1",
        "per_running_minute": "0,35",
        "minimum": "1234,5",
        "vat": "22",
    }
    assert api.client.post("/api/v1/tariffs", json=body, headers=csrf).status_code == 201
    italian = api.client.get("/manage/tariffs?lang=it").text
    assert "Tornio" in italian and "0,35" in italian and re.search(r"1\.234,50\s*€", italian)
    english = api.client.get("/manage/tariffs?lang=en").text
    assert "0.35" in english and "€1,234.50" in english
    bad = api.client.post("/api/v1/tariffs", json=body | {"minimum": "12x"}, headers=csrf)
    assert bad.status_code == 422 and "minimum" in bad.text


def test_the_gateway_broker_url_setting_is_written_and_checked(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    url = "mqtts://broker.workshop.example:8883"
    settings = make_settings(sqlite_url, mosquitto, site, gateway_broker_url=url)
    for api in running_api(settings):
        seed_registry(api)
        admin = api.add_login("admin", Role.ADMIN)
        text = api.client.post("/api/v1/gateways/gw-1/config", json=WIRING, headers=admin).text
        config = parse_config(text)
        assert config.broker.url == url and config.broker.tls is not None
    for bad in ("http://broker:80", "mqtt://gateway:secret@broker:1883"):
        with pytest.raises(SettingsError, match="gateway_broker_url"):
            make_settings(sqlite_url, mosquitto, site, gateway_broker_url=bad)
