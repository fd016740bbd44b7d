"""Faults and service tasks through the api: reported by members, closed by coordinators, and
each change of a machine's out-of-order state sent to its gateway's config."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract import GatewayTopic, MachinePolicy, TopicKind
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.security import Role
from tests.api.conftest import Api, seed_registry
from tests.api.test_machine_policy import next_config
from tests.api.test_registry_photos import PNG


@pytest.fixture
def config_probe(mosquitto: MosquittoServer, site: str) -> Iterator[MqttProbe]:
    """A client reading the gateway configs the api publishes for the test's site."""
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        probe.subscribe(GatewayTopic.filter(site, "+", TopicKind.CONFIG))
        yield probe


def _lathe_reason(machines: tuple[MachinePolicy, ...]) -> str | None:
    return next((p.out_of_order for p in machines if p.machine == "lathe-1"), None)


def test_a_member_s_fault_report_stops_the_lathe_until_a_coordinator_closes_it(
    sqlite_api: Api, config_probe: MqttProbe
) -> None:
    seed_registry(sqlite_api)
    client = sqlite_api.client
    giulia = sqlite_api.add_login("giulia", Role.MEMBER, member="giulia")
    coord = sqlite_api.add_login("coord", Role.COORDINATOR)

    reported = client.post(
        "/api/v1/machines/lathe-1/faults", json={"text": "chuck wobbles"}, headers=giulia
    )
    assert reported.status_code == 201, reported.text
    fault = reported.json()
    assert (fault["reported_by"], fault["photo"]) == ("giulia", False)
    config = next_config(
        config_probe, "gw-1", lambda c: _lathe_reason(c.machines) == "fault reported"
    )
    assert _lathe_reason(config.machines) == "fault reported"

    photo_url = f"/api/v1/machines/lathe-1/faults/{fault['id']}/photo"
    put = client.put(photo_url, content=PNG, headers=giulia | {"Content-Type": "image/png"})
    assert put.status_code == 204, put.text
    assert client.get(photo_url, headers=coord).content == PNG
    lying = client.put(
        photo_url, content=b"GIF89a" + bytes(20), headers=giulia | {"Content-Type": "image/png"}
    )
    assert lying.status_code in (415, 422)

    closed = client.post(
        f"/api/v1/machines/lathe-1/faults/{fault['id']}/close",
        json={"notes": "jaws reseated", "parts": "none"},
        headers=coord,
    )
    assert closed.status_code == 200, closed.text
    next_config(config_probe, "gw-1", lambda c: _lathe_reason(c.machines) is None)
    shown = client.get("/api/v1/machines/lathe-1/maintenance", headers=giulia).json()
    assert shown["out_of_order"] is None and shown["faults"] == []
    assert [e["notes"] for e in shown["log"]] == ["jaws reseated"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "oil"}, "every_running_h"),
        ({"title": "", "every_days": 3}, "title"),
        ({"title": "oil", "every_days": 0}, "every_days"),
        ({"title": "oil", "every_running_h": -1}, "every_running_h"),
    ],
)
def test_a_task_that_could_never_come_due_is_refused_naming_the_field(
    sqlite_api: Api, body: dict[str, object], field: str
) -> None:
    seed_registry(sqlite_api)
    coord = sqlite_api.add_login("coord", Role.COORDINATOR)
    refused = sqlite_api.client.post(
        "/api/v1/machines/lathe-1/maintenance/tasks", json=body, headers=coord
    )
    assert refused.status_code == 422
    assert field in refused.text
