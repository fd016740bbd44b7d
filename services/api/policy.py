"""Machine policy out: each gateway's retained `config`, republished when a policy changes.

The registry is the one place a machine's run thresholds and session rules are kept. Each
gateway is sent the policy of every machine it serves on its own retained config topic, with a
version that only grows (kept in the ledger, and topped over any retained config already on
the broker), so a gateway takes a config only if it is newer than the one it runs by.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from contract import (
    POLICY_FIELDS,
    GatewayPolicy,
    GatewayTopic,
    MachinePolicy,
    Message,
    TopicKind,
    encode_payload,
)
from services.api.broker import BrokerLink
from services.api.models import GatewayConfigVersionRow
from services.api.retained import RetainedPublisher, epoch_ms, utc_now
from services.ledger import LedgerError, MachineRow

log = logging.getLogger(__name__)


class PolicySource(Protocol):
    """Where machine policies come from: the registry."""

    def machines(
        self, *, site: str | None = None, gateway: str | None = None
    ) -> Sequence[MachineRow]:
        """The registered machines of a site (or of one gateway)."""


def machine_policy(row: MachineRow, out_of_order: str | None = None) -> MachinePolicy:
    """The policy a gateway is sent for one registered machine (and why it is out of order)."""
    rules = {name: getattr(row, name) for name in POLICY_FIELDS}
    return MachinePolicy(machine=row.id, out_of_order=out_of_order, **rules)


def _in_order() -> Mapping[str, str]:
    return {}


class PolicyPublisher(RetainedPublisher):
    """Publishes each gateway's config; requests only tell it which gateways changed."""

    what = "config"

    def __init__(
        self,
        *,
        site: str,
        link: BrokerLink,
        source: PolicySource,
        engine: Engine,
        clock: Callable[[], datetime] = utc_now,
        out_of_order: Callable[[], Mapping[str, str]] = _in_order,
    ) -> None:
        self._source = source
        self._out_of_order = out_of_order
        super().__init__(
            site=site,
            link=link,
            engine=engine,
            follow=GatewayTopic.filter(site, "+", TopicKind.CONFIG),
            thread_name="policy-publisher",
            clock=clock,
        )

    def gateways_changed(self, gateways: Iterable[str]) -> None:
        """Republish these gateways' configs (soon, on the worker thread)."""
        self.changed(gateways)

    def retained_version(self, message: Message) -> tuple[str, int] | None:
        """A gateway's config heard retained on the broker: the gateway and its version."""
        payload, topic = message.payload, message.topic
        if isinstance(payload, GatewayPolicy) and isinstance(topic, GatewayTopic):
            return topic.gateway, payload.version
        return None

    def every_key(self) -> set[str]:
        """Every gateway a registered machine names."""
        return {m.gateway for m in self._source.machines(site=self.site)}

    def publish(self, gateway: str) -> None:
        """Publish a gateway's config: the policy of each working machine it serves."""
        now = self._clock()
        out_of_order = self._out_of_order()
        machines = tuple(
            machine_policy(row, out_of_order.get(row.id))
            for row in self._source.machines(site=self.site, gateway=gateway)
            if row.retired_at is None
        )
        version = self._next_version(gateway, len(machines), now)
        stamp = epoch_ms(now)
        payload = GatewayPolicy(
            id=f"config-{gateway}-{version}", ts=stamp, version=version, machines=machines
        )
        topic = GatewayTopic(self.site, gateway, TopicKind.CONFIG)
        self._link.publish(str(topic), encode_payload(payload), retain=True)
        log.info("config of gateway %s v%d: %d machines", gateway, version, len(machines))

    def _next_version(self, gateway: str, machines: int, now: datetime) -> int:
        seen = self.seen_version(gateway)
        try:
            with self._open_db.begin() as db:
                key = (self.site, gateway)
                row = db.get(GatewayConfigVersionRow, key, with_for_update=True)
                if row is None:
                    row = GatewayConfigVersionRow(site=self.site, gateway=gateway, version=-1)
                    db.add(row)
                row.version = max(row.version, seen) + 1
                row.machines = machines
                row.published_at = now
                return row.version
        except SQLAlchemyError as err:
            raise LedgerError(f"next config version of gateway {gateway}: {err}") from err
