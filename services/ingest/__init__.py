"""Ingest: MQTT messages from the gateways into InfluxDB (telemetry) and the ledger (sessions)."""

from services.ingest.counters import Counters
from services.ingest.errors import IngestError, NotConnectedError, SettingsError
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings, MqttProtocol, RetryPolicy

__all__ = [
    "Counters",
    "Ingest",
    "IngestError",
    "IngestSettings",
    "MqttProtocol",
    "NotConnectedError",
    "RetryPolicy",
    "SettingsError",
]
