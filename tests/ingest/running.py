"""Ingest as the tests run it in this process; as a child process it is `harness.ingest`."""

from __future__ import annotations

import uuid

from contract.mqtt import MqttProtocol
from harness.influxdb import InfluxDatabase, InfluxServer
from harness.mosquitto import MosquittoServer
from services.influx import InfluxSettings
from services.ingest import IngestSettings, RetryPolicy
from services.ingest.settings import MAX_SESSION_AGE_DAYS

# Short waits keep the tests quick; what they prove does not depend on the values.
FLUSH_INTERVAL_S = 0.1
QUICK_RETRY = RetryPolicy(first_s=0.1, max_s=0.5)
# Ingest as a child process flushes every 0.2 s; what the tests prove does not depend on it.
PROCESS_FLUSH_INTERVAL_S = 0.2


def ingest_settings(
    broker: MosquittoServer,
    ledger_url: str,
    *,
    influx: InfluxDatabase | InfluxServer | None = None,
    client_id: str | None = None,
    **options: object,
) -> IngestSettings:
    """Settings for an ingest on the test broker, ledger and (optionally) InfluxDB."""
    values: dict[str, object] = {
        "flush_interval_s": FLUSH_INTERVAL_S,
        "retry": QUICK_RETRY,
        "hold_wait_s": 0.3,
        # The examples' sessions are dated 2026-01-01, however long ago that is when they run.
        "session_max_age_days": MAX_SESSION_AGE_DAYS,
    }
    values.update(options)
    protocol = values.pop("protocol", MqttProtocol.V5)
    return IngestSettings(
        broker=broker.options(
            client_id=client_id or f"ingest-{uuid.uuid4().hex[:8]}", protocol=protocol
        ),
        ledger_url=ledger_url,
        influx=InfluxSettings(url=influx.url, database=influx.database) if influx else None,
        **values,  # type: ignore[arg-type]
    )
