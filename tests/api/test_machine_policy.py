"""A machine's policy is kept in the registry, edited through the api and sent to its gateway."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contract import GatewayPolicy, GatewayTopic, TopicKind, decode_message
from firmware_bridge.profiles import Load
from gateway.run_detection import Activity
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.security import Role
from services.ledger import MachineSpec, Registry, open_ledger
from tests.api.conftest import Api, emulated_gateway, make_settings, running_api, seed_registry
from tests.waiting import eventually

CARD_UID_GIULIA = "04A1B2C3"
DEFAULTS = {
    "idle_amps": 0.5,
    "run_amps": 2.0,
    "hysteresis_amps": 0.0,
    "min_dwell_s": 2.0,
    "idle_timeout_s": 900.0,
    "max_duration_s": 28_800.0,
    "warn_before_s": 60.0,
}


@pytest.fixture
def config_probe(mosquitto: MosquittoServer, site: str) -> Iterator[MqttProbe]:
    """A client reading the gateway configs the api publishes for the test's site."""
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        probe.subscribe(GatewayTopic.filter(site, "+", TopicKind.CONFIG))
        yield probe


def next_config(
    probe: MqttProbe, gateway: str, wanted: Callable[[GatewayPolicy], bool], *, timeout: float = 5.0
) -> GatewayPolicy:
    """The first config of a gateway that the broker delivers and `wanted` accepts."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no config of {gateway} as wanted within {timeout:g} s")
        received = probe.receive(timeout=left)
        if not received.payload:
            continue  # a retained config cleared
        message = decode_message(received.topic, received.payload)
        payload = message.payload
        if (
            isinstance(message.topic, GatewayTopic)
            and message.topic.gateway == gateway
            and isinstance(payload, GatewayPolicy)
            and wanted(payload)
        ):
            return payload


def test_a_machine_saved_without_a_policy_gets_the_defaults_and_a_change_keeps_the_rest(
    api: Api,
) -> None:
    staff = api.add_login("coord", Role.COORDINATOR)
    url = "/api/v1/machines/saw-1"
    created = api.client.put(url, json={"name": "Sega", "gateway": "gw-2"}, headers=staff)
    assert created.status_code == 200, created.text
    assert {k: created.json()[k] for k in DEFAULTS} == DEFAULTS

    body = {"name": "Sega", "gateway": "gw-2", "run_amps": 3.5, "idle_timeout_s": 600}
    assert api.client.put(url, json=body, headers=staff).status_code == 200
    changed = api.client.put(
        url, json={"name": "Sega", "gateway": "gw-2", "warn_before_s": 30}, headers=staff
    ).json()
    assert {k: changed[k] for k in DEFAULTS} == DEFAULTS | {
        "run_amps": 3.5,
        "idle_timeout_s": 600.0,
        "warn_before_s": 30.0,
    }
    assert api.client.get(url, headers=staff).json() == changed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("idle_timeout_s", 0),
        ("max_duration_s", "all day"),
        ("warn_before_s", -1),
        ("min_dwell_s", 7200),
        ("hysteresis_amps", -0.1),
    ],
)
def test_a_bad_policy_field_is_refused_naming_it(
    sqlite_api: Api, field: str, value: object
) -> None:
    staff = sqlite_api.add_login("coord", Role.COORDINATOR)
    body = {"name": "Sega", "gateway": "gw-2", field: value}
    answer = sqlite_api.client.put("/api/v1/machines/saw-1", json=body, headers=staff)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", field]


def test_a_run_threshold_kept_below_a_new_idle_threshold_is_refused_naming_run_amps(
    sqlite_api: Api,
) -> None:
    staff = sqlite_api.add_login("coord", Role.COORDINATOR)
    url = "/api/v1/machines/saw-1"
    body = {"name": "Sega", "gateway": "gw-2", "run_amps": 3.0}
    assert sqlite_api.client.put(url, json=body, headers=staff).status_code == 200
    answer = sqlite_api.client.put(url, json=body | {"idle_amps": 4.0}, headers=staff)
    assert answer.status_code == 422
    assert "run_amps" in answer.text


def test_saving_a_machine_sends_its_gateway_a_newer_config(
    sqlite_api: Api, config_probe: MqttProbe
) -> None:
    api = sqlite_api
    staff = api.add_login("coord", Role.COORDINATOR)
    body = {"name": "Sega", "gateway": "gw-2", "run_amps": 3.5}
    assert api.client.put("/api/v1/machines/saw-1", json=body, headers=staff).status_code == 200
    first = next_config(config_probe, "gw-2", lambda c: len(c.machines) == 1)
    assert (first.machines[0].machine, first.machines[0].run_amps) == ("saw-1", 3.5)

    moved = body | {"gateway": "gw-3"}
    assert api.client.put("/api/v1/machines/saw-1", json=moved, headers=staff).status_code == 200
    emptied = next_config(config_probe, "gw-2", lambda c: not c.machines)
    taken = next_config(config_probe, "gw-3", lambda c: len(c.machines) == 1)
    assert emptied.version > first.version
    assert taken.machines[0].run_amps == 3.5


def test_the_api_sends_every_gateway_its_config_on_start_with_a_growing_version(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, config_probe: MqttProbe
) -> None:
    engine = open_ledger(sqlite_url)
    try:
        spec = MachineSpec(site=site, id="lathe-1", name="Tornio", gateway="gw-1", run_amps=4.0)
        Registry(engine).save_machine(spec)
    finally:
        engine.dispose()
    versions = []
    for _ in range(2):
        for _api in running_api(make_settings(sqlite_url, mosquitto, site)):
            config = next_config(config_probe, "gw-1", lambda c: len(c.machines) == 1)
            assert config.machines[0].run_amps == 4.0
            versions.append(config.version)
    assert versions[1] > versions[0]


def test_a_lower_run_threshold_set_in_the_api_makes_the_gateway_see_the_machine_running(
    sqlite_api: Api, mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    api.client.post(
        "/api/v1/cards", json={"member": "giulia", "uid": CARD_UID_GIULIA}, headers=staff
    )
    api.client.put(
        "/api/v1/qualifications", json={"member": "giulia", "machine": "lathe-1"}, headers=staff
    )
    machine = {"name": "Tornio", "gateway": "gw-1", "min_dwell_s": 0.3}
    api.client.put("/api/v1/machines/lathe-1", json=machine, headers=staff)
    with emulated_gateway(mosquitto, api.site, tmp_path / "spool.db") as (emulator, gateway):
        sessions = gateway.workers["lathe-1"].sessions
        # The registry's thresholds (seeded: idle 0.8 A, run 4 A) replace gateway.toml's.
        eventually(lambda: sessions.detector.thresholds.min_dwell_s == 0.3, what="the config")
        eventually(lambda: sessions.access.version >= 0, what="the access list")
        emulator.present_card(CARD_UID_GIULIA)
        eventually(lambda: emulator.relay_energised, what="giulia's session")
        session = sessions.open_session
        # The lathe's spindle idles at about 1.8 A: idle under a 4 A run threshold.
        emulator.set_load(Load.IDLE)
        eventually(lambda: sessions.detector.activity is Activity.IDLE, what="the idle lathe")

        changed = api.client.put(
            "/api/v1/machines/lathe-1", json=machine | {"run_amps": 1.2}, headers=staff
        )
        assert changed.status_code == 200

        eventually(lambda: sessions.detector.activity is Activity.RUNNING, what="a run at 1.2 A")
        assert sessions.open_session == session
        assert emulator.relay_energised
