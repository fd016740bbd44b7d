"""`/healthz`, what the deployment's healthcheck asks: up only while the ledger and broker are."""

from __future__ import annotations

import time

from harness.plugin import MosquittoFactory
from tests.api.conftest import make_settings, running_api

RECONNECT_TIMEOUT_S = 10.0


def test_health_needs_no_login_and_follows_the_broker(
    sqlite_url: str, mosquitto_factory: MosquittoFactory, site: str
) -> None:
    broker = mosquitto_factory()
    for api in running_api(make_settings(sqlite_url, broker, site)):
        healthy = api.client.get("/healthz")
        assert healthy.status_code == 200 and healthy.json() == {"status": "ok"}
        assert "/healthz" not in api.client.get("/openapi.json").json()["paths"]

        broker.stop()
        deadline = time.monotonic() + RECONNECT_TIMEOUT_S
        while api.state.link.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        down = api.client.get("/healthz")
        assert down.status_code == 503
        assert down.json() == {"status": "unhealthy", "problems": ["broker: not connected"]}

        broker.start()
        assert api.state.link.wait_connected(RECONNECT_TIMEOUT_S)
        assert api.client.get("/healthz").status_code == 200
