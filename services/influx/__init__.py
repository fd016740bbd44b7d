"""InfluxDB for every writer and reader: the v1 HTTP client, line protocol, retention and rollups.

Ingest writes telemetry through it, billing its projection, and the dashboards read the rollups
that `setup` makes; what is written where is described in SCHEMA.md.
"""

from services.influx.client import MAX_BATCH_LINES, InfluxClient, InfluxSettings
from services.influx.errors import (
    InfluxError,
    InfluxRefusedError,
    InfluxSettingsError,
    InfluxUnavailableError,
)
from services.influx.line_protocol import FieldValue, LineProtocolError, Point

__all__ = [
    "MAX_BATCH_LINES",
    "FieldValue",
    "InfluxClient",
    "InfluxError",
    "InfluxRefusedError",
    "InfluxSettings",
    "InfluxSettingsError",
    "InfluxUnavailableError",
    "LineProtocolError",
    "Point",
]
