"""The gateway's retained status: online with its spool on connecting and again while connected,
offline (the last will) when the network drops, offline with its spool when it stops.

The gateway reaches a real Mosquitto through a TCP relay process; killing the relay is a network
cut. A real ingest books every status into a real InfluxDB.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contract import GatewayStatus, GatewayStatusValue, GatewayTopic, decode_message
from firmware_bridge.emulator import Emulator
from gateway.config import BrokerConfig, GatewayConfig, MachineConfig, SpoolConfig, mcu_roles
from gateway.daemon import Gateway
from harness.influxdb import InfluxDatabase
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from harness.plugin import MosquittoFactory
from services.ingest import Ingest
from tests.ingest.running import ingest_settings
from tests.resilience.test_month_under_faults import Relay
from tests.waiting import eventually

SITE = "officine-status"
MACHINE = "drill-1"
KEY = "status-test-site-key-0123456789abcdef"
STATUS_EVERY_S = 1.0
CUT_S = 1.5
pause = threading.Event()


class StatusWatch:
    """Every status the broker delivers for one gateway, decoded, in order."""

    def __init__(self, broker: MosquittoServer, gateway: str) -> None:
        self.probe = MqttProbe(host=broker.host, port=broker.port)
        self.probe.connect()
        self.probe.subscribe(str(GatewayTopic(SITE, gateway)))
        self.seen: list[GatewayStatus] = []

    def until(
        self, check: Callable[[GatewayStatus], bool], *, timeout: float = 20.0
    ) -> GatewayStatus:
        """Read statuses until one passes `check`; fail the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.probe.receive(timeout=deadline - time.monotonic())
            if not received.payload:
                continue  # the retained status cleared
            payload = decode_message(received.topic, received.payload).payload
            assert isinstance(payload, GatewayStatus)
            self.seen.append(payload)
            if check(payload):
                return payload
        pytest.fail(f"no such status in {timeout:g} s; seen {self.seen}")


@pytest.fixture
def broker(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    return mosquitto_factory()


@pytest.fixture
def ingest(broker: MosquittoServer, sqlite_url: str, influx_db: InfluxDatabase) -> Iterator[Ingest]:
    with Ingest(ingest_settings(broker, sqlite_url, influx=influx_db)) as running:
        running.wait_connected(10)
        yield running


def online(status: GatewayStatus) -> bool:
    return status.status is GatewayStatusValue.ONLINE


def test_the_status_carries_the_spool_and_the_last_will_marks_a_network_cut(
    broker: MosquittoServer, ingest: Ingest, influx_db: InfluxDatabase, tmp_path: Path
) -> None:
    name = f"gw-{uuid.uuid4().hex[:8]}"
    relay = Relay(broker, tmp_path / "relay.log")
    relay.start()
    watch = StatusWatch(broker, name)
    try:
        with Emulator("drill-press", sample_period_s=0.1, seed=3) as emulator:
            config = GatewayConfig(
                site=SITE,
                gateway=name,
                site_key=KEY,
                broker=BrokerConfig(url=relay.url, status_interval_s=STATUS_EVERY_S),
                spool=SpoolConfig(path=tmp_path / "spool.db"),
                machines=(
                    MachineConfig(
                        id=MACHINE,
                        **mcu_roles(emulator.port),
                        idle_amps=0.8,
                        run_amps=2.6,
                        telemetry_interval_s=0.1,
                    ),
                ),
            )
            with Gateway(config) as gateway:
                first = watch.until(online)
                assert first.spool is not None and first.machines == (MACHINE,)
                repeated = watch.until(online)
                assert repeated.ts > first.ts and repeated.spool is not None

                relay.kill()  # the network goes; the broker speaks the last will
                will = watch.until(lambda s: not online(s))
                assert (will.spool, will.spool_oldest_s) == (None, None)
                pause.wait(CUT_S)  # telemetry piles up in the spool meanwhile
                waiting = gateway.spool.backlog()
                assert waiting >= 5
                relay.start()

                back = watch.until(online, timeout=40)
                assert back.spool is not None and back.spool >= waiting
                assert back.spool_oldest_s is not None and back.spool_oldest_s >= CUT_S
                # A status the gateway sent just as the network went is sent again on the new
                # connection (QoS 1), after the fresh one: the drained spool shows in a later one.
                drained = watch.until(
                    lambda s: online(s) and s.ts > back.ts and (s.spool or 0) < waiting
                )
                assert drained.spool is not None and drained.machines == (MACHINE,)
                assert gateway.counters["link.published.status"] >= 4
            goodbye = watch.until(lambda s: not online(s))
            assert goodbye.spool is not None  # a stop knows what it leaves behind
    finally:
        watch.probe.disconnect()
        relay.kill()

    # Ingest wrote each status as a point: the will between the two connections, the
    # goodbye last.
    def booked() -> list[dict[str, object]]:
        answer = influx_db.query(
            'SELECT "status", "online", "spool", "machines" FROM "gateway_status" '
            f"WHERE \"gateway\" = '{name}' AND \"site\" = '{SITE}'"
        )
        return answer[0].rows() if answer else []

    # A status sent again on reconnection is the same point (its id and time are its own).
    statuses = {status.id for status in watch.seen}
    eventually(lambda: len(booked()) == len(statuses), what="every status in InfluxDB")
    rows = booked()
    runs = [str(rows[0]["status"])]
    for row in rows[1:]:
        if row["status"] != runs[-1]:
            runs.append(str(row["status"]))
    assert runs == ["online", "offline", "online", "offline"]
    will_row = next(row for row in rows if row["status"] == "offline")
    assert will_row["spool"] is None and will_row["online"] == 0.0
    assert rows[-1]["spool"] is not None
    assert {row["machines"] for row in rows} == {1.0}
    assert max(float(str(row["spool"])) for row in rows if row["spool"] is not None) >= 5
