"""Ingest: MQTT messages from the gateways into InfluxDB (telemetry) and the ledger (sessions)."""

from services.ingest.consumer import Consumer, Counters
from services.ingest.errors import IngestError, NotConnectedError
from services.ingest.influx import (
    InfluxBacklogFullError,
    InfluxError,
    InfluxSettings,
    InfluxWriteError,
    InfluxWriter,
)
from services.ingest.line_protocol import LineProtocolError, Point
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings, MqttProtocol

__all__ = [
    "Consumer",
    "Counters",
    "InfluxBacklogFullError",
    "InfluxError",
    "InfluxSettings",
    "InfluxWriteError",
    "InfluxWriter",
    "Ingest",
    "IngestError",
    "IngestSettings",
    "LineProtocolError",
    "MqttProtocol",
    "NotConnectedError",
    "Point",
]
