"""Bookings out: each gateway's retained `bookings`, republished when a booking changes.

Each gateway is sent, for every bookable machine it serves, the bookings of the coming days and
the opening windows as absolute UTC intervals. The window rolls: the publisher sends every
gateway's bookings again every `refresh_s`, and settles the bookings whose grace has passed
(used or no-show) on the same beat. The version is the publishing instant in milliseconds,
topped over whatever is retained on the broker, so it only grows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from sqlalchemy import Engine

from contract import (
    BookedSlot,
    GatewayBookings,
    GatewayTopic,
    MachineBookings,
    Message,
    OpenWindow,
    TopicKind,
    encode_payload,
)
from services.api.broker import BrokerLink
from services.api.retained import RetainedPublisher, epoch_ms, utc_now
from services.ledger import LedgerError, Registry
from services.ledger.reservations import BookingRules, Reservations

log = logging.getLogger(__name__)

# How far ahead a gateway knows the bookings: offline for longer, it lets everyone in.
WINDOW = timedelta(days=3)
REFRESH_S = 300.0


class BookingsPublisher(RetainedPublisher):
    """Publishes each gateway's bookings; requests only tell it which machines changed."""

    what = "bookings"

    def __init__(
        self,
        *,
        site: str,
        link: BrokerLink,
        registry: Registry,
        reservations: Reservations,
        engine: Engine,
        clock: Callable[[], datetime] = utc_now,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._registry = registry
        self._reservations = reservations
        self._refresh_s = refresh_s
        self._versions: dict[str, int] = {}
        self._beat = threading.Thread(target=self._roll, name="bookings-beat", daemon=True)
        super().__init__(
            site=site,
            link=link,
            engine=engine,
            follow=GatewayTopic.filter(site, "+", TopicKind.BOOKINGS),
            thread_name="bookings-publisher",
            clock=clock,
        )

    def __enter__(self) -> Self:
        super().__enter__()
        self._beat.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        self._beat.join(timeout=10)

    def machine_changed(self, machine: str) -> None:
        """Republish the bookings of the gateway that serves this machine (soon)."""
        row = self._registry.machine(self.site, machine)
        if row is not None:
            self.changed({row.gateway})

    def retained_version(self, message: Message) -> tuple[str, int] | None:
        """A gateway's bookings heard retained on the broker: the gateway and its version."""
        payload, topic = message.payload, message.topic
        if isinstance(payload, GatewayBookings) and isinstance(topic, GatewayTopic):
            return topic.gateway, payload.version
        return None

    def every_key(self) -> set[str]:
        """Every gateway a registered machine names."""
        return {m.gateway for m in self._registry.machines(site=self.site)}

    def publish(self, gateway: str) -> None:
        """Publish a gateway's bookings: those of each bookable machine it serves."""
        now = self._clock()
        rows = self._registry.machines(site=self.site, gateway=gateway)
        served = {m.id for m in rows if m.retired_at is None}
        machines = tuple(
            self._plan(rules, now)
            for rules in self._reservations.all_rules(self.site)
            if rules.machine in served
        )
        stamp = epoch_ms(now)
        version = max(stamp, self.seen_version(gateway) + 1, self._versions.get(gateway, -1) + 1)
        self._versions[gateway] = version
        payload = GatewayBookings(
            id=f"bookings-{gateway}-{version}", ts=stamp, version=version, machines=machines
        )
        topic = GatewayTopic(self.site, gateway, TopicKind.BOOKINGS)
        self._link.publish(str(topic), encode_payload(payload), retain=True)
        log.info(
            "bookings of gateway %s v%d: %d bookings on %d machines",
            gateway,
            version,
            sum(len(m.bookings) for m in machines),
            len(machines),
        )

    def _plan(self, rules: BookingRules, now: datetime) -> MachineBookings:
        until = now + WINDOW
        coming = self._reservations.between(
            site=self.site, machine=rules.machine, start=now, end=until
        )
        hours = rules.hours
        windows = (
            None
            if hours.always_open
            else tuple(
                OpenWindow(start=epoch_ms(lo), end=epoch_ms(hi))
                for lo, hi in hours.windows(now, until, self._reservations.zone)
            )
        )
        return MachineBookings(
            machine=rules.machine,
            until=epoch_ms(until),
            bookings=tuple(
                BookedSlot(
                    id=b.id, member=b.member, start=epoch_ms(b.starts_at), end=epoch_ms(b.ends_at)
                )
                for b in coming
            ),
            open=windows,
            grace_s=rules.grace_minutes * 60.0,
            warn_before_s=rules.warn_before_minutes * 60.0,
        )

    def _roll(self) -> None:
        """Every `refresh_s`: settle bookings past their grace, and send every gateway's again."""
        while not self._stop.wait(self._refresh_s):
            try:
                settled = self._reservations.settle()
            except LedgerError as err:
                log.warning("bookings: cannot settle: %s", err)
            else:
                if settled:
                    log.info("bookings: %d settled (used or no-show)", len(settled))
            self.everything_changed()
