"""Ingest's options, validated once at start-up."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from contract.mqtt import BrokerOptions, MqttProtocol
from contract.secrets import password_problem
from services.influx import MAX_BATCH_LINES, InfluxSettings
from services.ingest.errors import SettingsError
from services.ledger.db import DEFAULT_LEDGER_URL
from services.ledger.pseudonyms import pseudonym_key_problems

_GROUP = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How long to wait before trying an unavailable store again: first_s, doubling, to max_s."""

    first_s: float = 0.2
    max_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s:
            raise SettingsError("retry: need 0 < first_s <= max_s")

    def delays(self) -> Callable[[], float]:
        """A fresh sequence of pauses."""
        upcoming = [self.first_s]

        def step() -> float:
            delay = upcoming[0]
            upcoming[0] = min(self.max_s, delay * 2)
            return delay

        return step


# Stable across restarts, so the broker keeps ingest's backlog while it is down; a login
# names the client instead (the broker binds client ids to logins).
DEFAULT_CLIENT_ID = "officina-ingest"

__all__ = ["DEFAULT_CLIENT_ID", "IngestSettings", "MqttProtocol", "RetryPolicy"]


# Ten years: longer would accept sessions from before any workshop ran officina.
MAX_SESSION_AGE_DAYS = 3650.0


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestSettings:
    """Where ingest reads from (the broker) and books into (ledger, optionally InfluxDB)."""

    # MQTT 5 on Mosquitto (Receive Maximum, session expiry); 3.1.1 on the embedded broker.
    broker: BrokerOptions = field(default_factory=lambda: BrokerOptions(protocol=MqttProtocol.V5))
    # Set to share the subscription among several ingest processes (`$share/<group>/...`).
    shared_group: str | None = None
    ledger_url: str = DEFAULT_LEDGER_URL
    influx: InfluxSettings | None = None
    session_expiry_s: int = 86_400
    # A batch closes at this many messages (each is at most one line: InfluxDB's 5,000 cap)...
    batch_size: int = MAX_BATCH_LINES
    # ...or when its first message has waited this long.
    flush_interval_s: float = 1.0
    # MQTT 5 Receive Maximum: how many unacknowledged messages the broker may send us. Ingest
    # acknowledges only durable batches, so this must hold a few batches; it also bounds what
    # ingest keeps in memory while a store is away (the broker queues the rest).
    max_unacked: int = 20_000
    # When ingest holds max_unacked, how long a message waits for room before it is left with
    # the broker; the network thread waits meanwhile, so keep this well below keepalive_s.
    hold_wait_s: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # On stop, how long to keep trying to book what was received before leaving it to the broker.
    stop_timeout_s: float = 10.0
    # Keys the members' display pseudonyms; without it no `session` points are written.
    pseudonym_key: str | None = field(default=None, repr=False)
    # The demo may use its well-known pseudonym key; nothing else may.
    demo: bool = False
    # A session that started longer ago than this is a clock gone wrong (or a replay of the
    # distant past), not a spool catching up: it is refused. 90 days is the raw retention.
    session_max_age_days: float = 90.0

    @property
    def client_id(self) -> str:
        """The client id ingest connects with."""
        return self.broker.identity(DEFAULT_CLIENT_ID)

    def __post_init__(self) -> None:
        problems = pseudonym_key_problems(self.pseudonym_key, demo=self.demo)
        if self.shared_group is not None and not _GROUP.fullmatch(self.shared_group):
            problems.append(f"shared_group {self.shared_group!r}: letters, digits, '_' or '-'")
        if self.shared_group is not None and self.broker.protocol is not MqttProtocol.V5:
            problems.append("shared_group: shared subscriptions need MQTT 5")
        weak_password = password_problem("password", self.broker.password)
        if weak_password is not None:
            problems.append(weak_password)
        if not 1 <= self.batch_size <= MAX_BATCH_LINES:
            problems.append(f"batch_size: must be between 1 and {MAX_BATCH_LINES}")
        if not self.flush_interval_s > 0:
            problems.append("flush_interval_s: must be positive")
        if not self.batch_size <= self.max_unacked <= 65_535:
            problems.append("max_unacked: must be between batch_size and 65535")
        if not 0 <= self.hold_wait_s < self.broker.keepalive_s:
            problems.append("hold_wait_s: must be at least 0 and below keepalive_s")
        if self.stop_timeout_s < 0:
            problems.append("stop_timeout_s: must not be negative")
        if not 0 < self.session_max_age_days <= MAX_SESSION_AGE_DAYS:
            problems.append(
                f"session_max_age_days: must be above 0 and at most {MAX_SESSION_AGE_DAYS}"
            )
        if self.session_expiry_s < 0:
            problems.append("session_expiry_s: must not be negative")
        if problems:
            raise SettingsError("invalid ingest settings: " + "; ".join(problems))
