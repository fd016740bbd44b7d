"""The maintenance watch: finds tasks that came due and sends out-of-order changes to gateways.

Running hours grow as ingest books sessions and calendar intervals run out by themselves, so the
api looks every `maintenance_every_s`: a task found due is marked (and announced) in one
transaction, and the gateways of machines that went out of order, or back in order, get their
config again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from services.api.policy import PolicyPublisher
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
    ) -> None:
        self._site = site
        self._maintenance = maintenance
        self._registry = registry
        self._policy = policy
        self._every_s = every_s
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

    def check(self) -> set[str]:
        """Refresh once; the machines whose out-of-order state changed (their gateways told)."""
        changed = self._maintenance.refresh(self._site)
        if changed:
            log.info("out-of-order state changed: %s", ", ".join(sorted(changed)))
            republish_out_of_order(
                changed, site=self._site, registry=self._registry, policy=self._policy
            )
        return changed

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except LedgerError as err:
                log.warning("maintenance not refreshed: %s", err)
            self._stop.wait(self._every_s)
