"""Ingest's options, validated once at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from services.ingest.errors import SettingsError
from services.ingest.influx import InfluxSettings

_GROUP = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class MqttProtocol(StrEnum):
    """The MQTT version ingest speaks: 5 on Mosquitto, 3.1.1 on the embedded amqtt broker."""

    V5 = "5"
    V311 = "3.1.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestSettings:
    """Where ingest reads from (the broker) and books into (ledger, optionally InfluxDB)."""

    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    username: str | None = None
    password: str | None = None
    # Stable across restarts: the broker keeps this client's backlog while it is down.
    client_id: str = "officina-ingest"
    # Set to share the subscription among several ingest processes (`$share/<group>/...`).
    shared_group: str | None = None
    ledger_url: str = "sqlite:///officina.db"
    influx: InfluxSettings | None = None
    protocol: MqttProtocol = MqttProtocol.V5
    session_expiry_s: int = 86_400
    keepalive_s: int = 30

    def __post_init__(self) -> None:
        problems = []
        if not self.broker_host:
            problems.append("broker_host: must not be empty")
        if not 0 < self.broker_port < 65_536:
            problems.append(f"broker_port: {self.broker_port} is not a TCP port")
        if not self.client_id or len(self.client_id) > 128:
            problems.append("client_id: must be 1-128 characters")
        if self.shared_group is not None and not _GROUP.fullmatch(self.shared_group):
            problems.append(f"shared_group {self.shared_group!r}: letters, digits, '_' or '-'")
        if self.shared_group is not None and self.protocol is not MqttProtocol.V5:
            problems.append("shared_group: shared subscriptions need MQTT 5")
        if self.password is not None and self.username is None:
            problems.append("password: given without a username")
        if self.session_expiry_s < 0:
            problems.append("session_expiry_s: must not be negative")
        if problems:
            raise SettingsError("invalid ingest settings: " + "; ".join(problems))
