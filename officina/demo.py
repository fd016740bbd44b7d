"""`officina demo`: the simulated shop floor through the real code path, on the embedded default.

Emulated MCUs on pseudo-terminals → the gateway (pyserial, session state machine, paho) → an MQTT
broker (embedded amqtt unless one is given) → ingest → the SQLite ledger (and InfluxDB if given).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gateway.clock import ScaledClock
from gateway.daemon import Gateway
from officina.embedded_broker import EmbeddedBroker
from officina.floor import MACHINES, Floor, demo_ledger_url
from officina.watch import FloorWatcher
from services.ingest.influx import InfluxSettings
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings, MqttProtocol
from services.ledger.models import SessionRow

log = logging.getLogger(__name__)
SITE = "officine-demo"
GATEWAY = "gw-hall-a"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    """What the demo runs on and for how long."""

    broker_url: str | None = None
    ledger_url: str | None = None
    influx: InfluxSettings | None = None
    speed: float = 60.0
    machines: int = 3
    seconds: float | None = None
    seed: int = 7
    workdir: Path | None = None


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What happened: sessions the gateway made, sessions the ledger booked, the counters."""

    sessions_published: int
    sessions: tuple[SessionRow, ...]
    ingest_counters: dict[str, int]
    gateway_counters: dict[str, int]


@contextlib.contextmanager
def _broker(url: str | None) -> Iterator[tuple[str, int, MqttProtocol]]:
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
            raise ValueError(f"--broker: expected mqtt://host:port, got {url!r}")
        yield parts.hostname, parts.port or 1883, MqttProtocol.V5
        return
    with EmbeddedBroker() as embedded:
        # amqtt 0.12 speaks MQTT 3.1.1 only.
        yield embedded.host, embedded.port, MqttProtocol.V311


@contextlib.contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="officina-demo-") as tmp:
        yield Path(tmp)


Tick = Callable[[FloorWatcher, Ingest], None]


def run_demo(
    options: DemoOptions, stop: threading.Event, on_tick: Tick | None = None
) -> DemoReport:
    """Run the floor until `stop` is set or `options.seconds` pass; return what was booked."""
    clock = ScaledClock(options.speed)
    with (
        _workdir(options.workdir) as workdir,
        _broker(options.broker_url) as (host, port, protocol),
    ):
        broker_url = f"mqtt://{host}:{port}"
        settings = IngestSettings(
            broker_host=host,
            broker_port=port,
            client_id=f"officina-ingest-demo-{time.time_ns()}",
            ledger_url=options.ledger_url or demo_ledger_url(workdir),
            influx=options.influx,
            protocol=protocol,
        )
        with (
            Ingest(settings) as ingest,
            FloorWatcher(host=host, port=port, site=SITE) as watcher,
            Floor(clock=clock, machines=MACHINES[: options.machines], seed=options.seed) as floor,
        ):
            ingest.wait_connected(10.0)
            watcher.wait_subscribed(10.0)
            gateway = Gateway(
                floor.gateway_config(
                    site=SITE,
                    gateway=GATEWAY,
                    broker_url=broker_url,
                    spool=workdir / "gateway-spool.db",
                ),
                clock=clock,
                allow_weak_key=True,
            )
            with gateway:
                gateway.link.wait_connected(10.0)
                floor.start_work()
                deadline = None if options.seconds is None else time.monotonic() + options.seconds
                while not stop.wait(0.25):
                    if on_tick is not None:
                        on_tick(watcher, ingest)
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                floor.stop_work()
            # The gateway has closed what was open (as power_loss) and published it: let ingest
            # book every session the broker carried before we look at the ledger.
            _await_booked(watcher, ingest, timeout=10.0)
            if on_tick is not None:
                on_tick(watcher, ingest)
            return DemoReport(
                sessions_published=watcher.sessions_published,
                sessions=tuple(ingest.ledger.sessions(site=SITE)),
                ingest_counters=dict(ingest.counters),
                gateway_counters=dict(gateway.counters),
            )


def _await_booked(watcher: FloorWatcher, ingest: Ingest, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    done = threading.Event()
    while time.monotonic() < deadline:
        if len(ingest.ledger.sessions(site=SITE)) >= watcher.sessions_published:
            return
        done.wait(0.1)
    log.warning("not every published session was booked within %.0f s", timeout)
