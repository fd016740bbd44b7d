"""Test harness: real Mosquitto, InfluxDB and PostgreSQL servers started for the tests."""

from tests.harness.certificates import Certificate, CertificateAuthority, make_ca
from tests.harness.errors import (
    HarnessError,
    InfluxQueryError,
    MissingServerError,
    MqttProbeError,
    NotReadyError,
    ServerStartError,
)
from tests.harness.influxdb import InfluxDatabase, InfluxServer, Series, start_influxdb
from tests.harness.mosquitto import MosquittoServer, TlsListener, start_mosquitto
from tests.harness.mqtt import MqttProbe, Received
from tests.harness.plugin import InfluxFactory, MosquittoFactory
from tests.harness.ports import (
    free_port,
    poll_until,
    port_accepts,
    process_listens_on,
    wait_for_port,
)
from tests.harness.sql import PostgresServer

__all__ = [
    "Certificate",
    "CertificateAuthority",
    "HarnessError",
    "InfluxDatabase",
    "InfluxFactory",
    "InfluxQueryError",
    "InfluxServer",
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
