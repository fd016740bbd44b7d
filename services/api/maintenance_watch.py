"""The maintenance watch: finds tasks that came due and sends out-of-order changes to gateways.

Running hours grow as ingest books sessions and calendar intervals run out by themselves, so the
api looks every `maintenance_every_s`: a task found due is marked (and announced) in one
transaction, and the gateways of machines that went out of order, or back in order, get their
config again. Each look also shows every machine's service state on the live floor and, when the
api has an InfluxDB, writes it there (`maintenance`) for the dashboards.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Self

from services.api.floor import Floor, ServiceMark
from services.api.machine_service import MachineService, machine_services, service_points
from services.api.policy import PolicyPublisher
from services.api.retained import epoch_ms
from services.influx import InfluxClient, InfluxError, LineProtocolError
from services.ledger import LedgerError, Registry
from services.ledger.maintenance import Maintenance

log = logging.getLogger(__name__)


def republish_out_of_order(
    machines: Iterable[str], *, site: str, registry: Registry, policy: PolicyPublisher
) -> None:
    """Send the configs of the gateways that run these machines again."""
    wanted = set(machines)
    if not wanted:
        return
    gateways = {m.gateway for m in registry.machines(site=site) if m.id in wanted}
    policy.gateways_changed(gateways)


class MaintenanceWatch:
    """A thread that refreshes the site's maintenance state every so often."""

    def __init__(
        self,
        *,
        site: str,
        maintenance: Maintenance,
        registry: Registry,
        policy: PolicyPublisher,
        every_s: float,
        floor: Floor | None = None,
        influx: InfluxClient | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self._site = site
        self._maintenance = maintenance
        self._registry = registry
        self._policy = policy
        self._every_s = every_s
        self._floor = floor
        self._influx = influx
        self._clock = clock
        # One look at a time: a sign-off's look and the thread's must not interleave their writes.
        self._looking = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maintenance-watch", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def check(self, *, touched: Iterable[str] = ()) -> set[str]:
        """Refresh once; the machines whose out-of-order state changed (their gateways told, with
        those of the `touched` machines), and every machine's service state shown and written."""
        with self._looking:
            changed = self._maintenance.refresh(self._site)
            if changed:
                log.info("out-of-order state changed: %s", ", ".join(sorted(changed)))
            republish_out_of_order(
                changed | set(touched),
                site=self._site,
                registry=self._registry,
                policy=self._policy,
            )
            services = self.services()
            at_ms = epoch_ms(self._clock())
            if self._floor is not None:
                self._floor.mark_service(
                    {m: ServiceMark(s.out_of_order, s.tasks_due) for m, s in services.items()}
                )
        # Outside the lock: a slow InfluxDB must not hold up a sign-off. Each look carries its
        # own time, and the panels read the latest, so two writes may land in either order.
        self._write(services, at_ms)
        return changed

    def services(self) -> dict[str, MachineService]:
        """Every machine's service state now (retired machines only while something is open)."""
        machines = [m.id for m in self._registry.machines(site=self._site) if m.retired_at is None]
        now = self._clock()
        return machine_services(self._maintenance, self._site, machines, now=now)

    def _write(self, services: dict[str, MachineService], at_ms: int) -> None:
        if self._influx is None:
            return
        try:
            points = service_points(services, site=self._site, at_ms=at_ms)
            self._influx.write_lines([p.to_line() for p in points])
        except (InfluxError, LineProtocolError) as err:
            # The dashboards miss one look; the ledger and the gateways are already right.
            log.warning("maintenance state not written to InfluxDB: %s", err)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except LedgerError as err:
                log.warning("maintenance not refreshed: %s", err)
            self._stop.wait(self._every_s)
