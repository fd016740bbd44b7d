"""What every request may reach: settings, the ledger, the floor and the publishers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.api.acl import AclPublisher
from services.api.broker import BrokerLink
from services.api.enrolment import BadgeWaiters
from services.api.events import FloorHub
from services.api.floor import Floor
from services.api.maintenance_watch import MaintenanceWatch
from services.api.policy import PolicyPublisher
from services.api.ratelimit import LoginLimiter
from services.api.reservations import BookingsPublisher
from services.api.security import Passwords
from services.api.settings import ApiSettings
from services.billing.service import Billing
from services.ledger import Registry
from services.ledger.maintenance import Maintenance
from services.ledger.reservations import Reservations


def utc_now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Rejections:
    """Bad requests counted by the field they got wrong."""

    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, field_name: str) -> None:
        """Count one rejection of a field."""
        with self._lock:
            self._counts[field_name] += 1

    def snapshot(self) -> dict[str, int]:
        """Counts so far, by field."""
        with self._lock:
            return dict(self._counts)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiState:
    """The api's running parts, made once by the app factory and shared by requests."""

    settings: ApiSettings
    engine: Engine
    registry: Registry
    link: BrokerLink
    floor: Floor
    hub: FloorHub
    waiters: BadgeWaiters
    acl: AclPublisher
    policy: PolicyPublisher
    maintenance: Maintenance
    watch: MaintenanceWatch
    reservations: Reservations
    bookings: BookingsPublisher
    billing: Billing
    limiter: LoginLimiter
    passwords: Passwords
    clock: Callable[[], datetime] = utc_now
    rejections: Rejections = field(default_factory=Rejections)
    names: NameCache = field(default_factory=lambda: NameCache())
    people: NameCache = field(default_factory=lambda: NameCache())

    def machine_names(self) -> dict[str, str]:
        """The site's machine names by id (cached for a few seconds)."""
        site = self.settings.site
        return self.names.get(lambda: {m.id: m.name for m in self.registry.machines(site=site)})

    def member_names(self) -> dict[str, str]:
        """Members' names by id (cached for a few seconds; an erased member's is its stand-in)."""
        return self.people.get(lambda: {m.id: m.name for m in self.registry.members()})

    open_db: sessionmaker[Session]


class NameCache:
    """Names by id, read again at most every few seconds (or next time, once told to forget)."""

    def __init__(self, *, ttl_s: float = 5.0) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._read_at = -ttl_s

    def get(self, read: Callable[[], dict[str, str]]) -> dict[str, str]:
        """Names by id; a cached copy while it is fresh, else what `read` returns now."""
        now = time.monotonic()
        with self._lock:
            if now - self._read_at < self._ttl_s:
                return self._names
        names = read()
        with self._lock:
            self._names, self._read_at = names, now
        return names

    def forget(self) -> None:
        """Read again next time (a machine was saved, a member renamed or erased)."""
        with self._lock:
            self._read_at = -self._ttl_s
