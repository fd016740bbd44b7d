"""Gateway credentials are shown once, kept as hashes, and work on a real Mosquitto with its ACL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from harness.errors import MqttProbeError
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.models import GatewayCredentialRow
from services.api.security import Role
from services.ledger import MachineSpec
from tests.api.conftest import Api, seed_registry


def test_credentials_are_shown_once_and_kept_only_as_hashes(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    admin = api.add_login("admin", Role.ADMIN)
    issued = api.client.post("/api/v1/gateways/gw-1/credentials", headers=admin)
    assert issued.status_code == 201
    secret = issued.json()["mqtt_password"]
    assert issued.json()["mqtt_username"] == "gateway-gw-1" and len(secret) >= 32
    listed = api.client.get("/api/v1/gateways", headers=admin)
    assert secret not in listed.text
    [gateway] = listed.json()
    assert gateway["machines"] == ["laser-1", "lathe-1"] and gateway["issued_at"]
    with api.state.open_db() as db:
        stored = db.scalars(select(GatewayCredentialRow.mqtt_password_hash)).all()
    assert stored[0].startswith("$7$") and secret not in stored[0]
    # The gateway's api login reads its machines' access lists with the same secret.
    gateway_headers = api.login("gateway-gw-1", secret)
    assert (
        api.client.get("/api/v1/machines/lathe-1/acl", headers=gateway_headers).status_code == 200
    )


def test_reissuing_credentials_ends_the_old_ones(sqlite_api: Api) -> None:
    api = sqlite_api
    admin = api.add_login("admin", Role.ADMIN)
    first = api.client.post("/api/v1/gateways/gw-1/credentials", headers=admin).json()
    old_login = api.login("gateway-gw-1", first["api_password"])
    api.client.post("/api/v1/gateways/gw-1/credentials", headers=admin)
    assert api.client.get("/api/v1/me", headers=old_login).status_code == 401
    refused = api.client.post(
        "/api/v1/login", json={"username": "gateway-gw-1", "password": first["api_password"]}
    )
    assert refused.status_code == 401


def test_the_broker_files_let_a_gateway_write_only_its_own_machines(
    sqlite_api: Api, tmp_path: Path
) -> None:
    api = sqlite_api
    seed_registry(api)
    api.state.registry.save_machine(
        MachineSpec(site=api.site, id="saw-9", name="Sega", gateway="gw-2", idle_amps=1, run_amps=3)
    )
    admin = api.add_login("admin", Role.ADMIN)
    issued = api.client.post("/api/v1/gateways/gw-1/credentials", headers=admin).json()
    files = api.client.get("/api/v1/gateways/broker-files", headers=admin).json()
    # A broker of the test's own, fed the generated files in place of the harness's.
    broker = MosquittoServer(
        workdir=tmp_path / "broker", users={"watcher": "watcher-password"}, acl=files["acl_file"]
    )
    watcher_line = (tmp_path / "broker" / "passwords").read_text()
    (tmp_path / "broker" / "passwords").write_text(watcher_line + files["password_file"])
    with (tmp_path / "broker" / "acl").open("a") as acl:
        acl.write("user watcher\ntopic read #\n")
    broker.start()
    try:
        own = f"officina/v1/{api.site}/machines/lathe-1/state"
        other = f"officina/v1/{api.site}/machines/saw-9/state"
        with MqttProbe(
            host=broker.host, port=broker.port, username="watcher", password="watcher-password"
        ) as watcher:
            watcher.subscribe(f"officina/v1/{api.site}/#")
            with MqttProbe(
                host=broker.host,
                port=broker.port,
                username=issued["mqtt_username"],
                password=issued["mqtt_password"],
            ) as gateway:
                gateway.publish(other, b"not mine", retain=False)
                gateway.publish(own, b"mine", retain=False)
            delivered = watcher.receive()
            assert (delivered.topic, delivered.payload) == (own, b"mine")
        with pytest.raises(MqttProbeError, match="refused"):
            MqttProbe(
                host=broker.host, port=broker.port, username="gateway-gw-1", password="guess"
            ).connect()
    finally:
        broker.stop()
