"""Ingest: MQTT messages from the gateways into InfluxDB (telemetry) and the ledger (sessions)."""

from services.ingest.counters import Counters
from services.ingest.errors import IngestError, NotConnectedError, SettingsError
from services.ingest.influx import (
    InfluxClient,
    InfluxError,
    InfluxRefusedError,
    InfluxSettings,
    InfluxUnavailableError,
)
from services.ingest.line_protocol import LineProtocolError, Point
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings, MqttProtocol, RetryPolicy

__all__ = [
    "Counters",
    "InfluxClient",
    "InfluxError",
    "InfluxRefusedError",
    "InfluxSettings",
    "InfluxUnavailableError",
    "Ingest",
    "IngestError",
    "IngestSettings",
    "LineProtocolError",
    "MqttProtocol",
    "NotConnectedError",
    "Point",
    "RetryPolicy",
    "SettingsError",
]
