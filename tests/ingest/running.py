"""Ingest as the tests run it in this process; as a child process it is `harness.ingest`."""

from __future__ import annotations

import uuid

from harness.influxdb import InfluxDatabase, InfluxServer
from harness.mosquitto import MosquittoServer
from services.ingest import InfluxSettings, IngestSettings, RetryPolicy

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
    }
    values.update(options)
    return IngestSettings(
        broker_host=broker.host,
        broker_port=broker.port,
        client_id=client_id or f"ingest-{uuid.uuid4().hex[:8]}",
        ledger_url=ledger_url,
        influx=InfluxSettings(url=influx.url, database=influx.database) if influx else None,
        **values,  # type: ignore[arg-type]
    )
