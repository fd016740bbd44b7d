"""Real servers for the tests and benchmarks: Mosquitto, InfluxDB, PostgreSQL, ingest processes."""

from harness.certificates import Certificate, CertificateAuthority, make_ca
from harness.errors import (
    HarnessError,
    InfluxQueryError,
    MissingServerError,
    MqttProbeError,
    NotReadyError,
    ServerStartError,
)
from harness.influxdb import InfluxDatabase, InfluxServer, Series, start_influxdb
from harness.ingest import IngestProcess
from harness.mosquitto import MosquittoServer, TlsListener, start_mosquitto
from harness.mqtt import MqttProbe, Received
from harness.plugin import InfluxFactory, MosquittoFactory
from harness.ports import (
    free_port,
    poll_until,
    port_accepts,
    process_listens_on,
    wait_for_port,
)
from harness.sql import PostgresServer

__all__ = [
    "Certificate",
    "CertificateAuthority",
    "HarnessError",
    "InfluxDatabase",
    "InfluxFactory",
    "InfluxQueryError",
    "InfluxServer",
    "IngestProcess",
    "MissingServerError",
    "MosquittoFactory",
    "MosquittoServer",
    "MqttProbe",
    "MqttProbeError",
    "NotReadyError",
    "PostgresServer",
    "Received",
    "Series",
    "ServerStartError",
    "TlsListener",
    "free_port",
    "make_ca",
    "poll_until",
    "port_accepts",
    "process_listens_on",
    "start_influxdb",
    "start_mosquitto",
    "wait_for_port",
]
