"""This month's cost pools split over the usage so far: the shares the dashboards project.

The month is billed as it stands (`bill_month`, the statements' own code), with the sessions
that started before now and the pools entered for it; before any is entered, last month's pools
stand in as the estimate (`basis` says which). A pool metered against its bill (the electricity
bill's kWh) has that quantity scaled to the part of the month gone by, so the metered part is
not all pushed onto the remainder key on the 3rd. A pool nobody can share yet (a kWh pool
before anyone used a machine, with no remainder key) is left out, not guessed.

InfluxDB gets one `pool_projection` point per pool and member, tagged with the member's display
pseudonym (see `services.ledger.pseudonyms`), at the moment it was computed. The amounts are
integer cents here, as everywhere in billing; the point carries them divided by 100, a float for
display only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from services.billing.allocation import KEY_RULES, CostPool, PoolShare
from services.billing.engine import bill_month
from services.billing.errors import BillingError, BillingInputError, UnallocatablePoolError
from services.billing.money import CENTS_PER_UNIT
from services.billing.months import Month, MonthWindow
from services.billing.service import Billing
from services.billing.usage import epoch_ms
from services.influx import MAX_BATCH_LINES, InfluxClient, InfluxError, LineProtocolError, Point
from services.ledger.pseudonyms import member_pseudonym

log = logging.getLogger(__name__)

POOL_PROJECTION = "pool_projection"
DEFAULT_EVERY_S = 3600.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ProjectionError(BillingError):
    """The projection could not be written (InfluxDB away or refusing it)."""


class Basis(StrEnum):
    """Which pools a projection splits."""

    ENTERED = "entered"  # the month's own pools
    LAST_MONTH = "last_month"  # none entered yet: last month's, as the estimate


@dataclass(frozen=True, slots=True)
class ProjectedShare:
    """One member's projected share of one pool, in cents, with the quantity it was split by."""

    pool: CostPool
    member: str
    cents: int
    # The member's quantity of the pool's own key, in its base unit (0 if only in the remainder).
    quantity: int


@dataclass(frozen=True, slots=True)
class Projection:
    """A month's pools split over its usage up to `at`."""

    month: Month
    at: datetime
    basis: Basis | None  # None: no pools this month or last
    shares: tuple[ProjectedShare, ...]
    stuck: tuple[str, ...]  # pools nobody can share yet


def project_month(billing: Billing, month: Month, *, now: datetime) -> Projection:
    """The month's pools (or last month's) split over the sessions that started before now."""
    window = MonthWindow(month, billing.tz)
    if now <= window.start:
        raise BillingInputError("month", f"{month} has not begun")
    inputs = billing.ledger.month_inputs(month, billing.tz)
    pools, basis = tuple(inputs.pools), Basis.ENTERED
    if not pools:
        pools, basis = tuple(billing.ledger.pools(month.previous())), Basis.LAST_MONTH
    if not pools:
        return Projection(month, now, None, (), ())
    now_ms = epoch_ms(now)
    start_ms = epoch_ms(window.start)
    gone_ms = min(now_ms, window.end_ms) - start_ms
    month_ms = window.end_ms - start_ms
    stuck: list[str] = []

    def left_out(pool: CostPool, err: UnallocatablePoolError) -> None:
        log.info("projection of %s: %s", month, err)
        stuck.append(pool.name)

    computed = bill_month(
        replace(
            inputs,
            sessions=[s for s in inputs.sessions if s.started_ms < now_ms],
            pools=[_to_date(pool, gone_ms, month_ms) for pool in pools],
        ),
        on_stuck_pool=left_out,
    )
    shares = [
        share for pool in pools for share in _per_member(computed.shares.get(pool.name, ()), pool)
    ]
    return Projection(month, now, basis, tuple(shares), tuple(stuck))


def _to_date(pool: CostPool, gone_ms: int, month_ms: int) -> CostPool:
    """A pool metered against its bill, with the bill's quantity for the part of the month gone."""
    if pool.billed_quantity is None:
        return pool
    return replace(pool, billed_quantity=max(1, pool.billed_quantity * gone_ms // month_ms))


def _per_member(shares: tuple[PoolShare, ...], pool: CostPool) -> list[ProjectedShare]:
    """A member's metered and remainder shares of a pool, added up into one."""
    cents: dict[str, int] = {}
    quantity: dict[str, int] = {}
    for share in shares:
        cents[share.member] = cents.get(share.member, 0) + share.cents
        if not share.remainder:
            quantity[share.member] = share.quantity
    return [
        ProjectedShare(pool, member, cents[member], quantity.get(member, 0))
        for member in sorted(cents)
    ]


def projection_points(projection: Projection, *, pseudonym_key: str) -> list[Point]:
    """One `pool_projection` point per pool and member, under the member's pseudonym."""
    at_ms = epoch_ms(projection.at)
    points = []
    for share in projection.shares:
        pool = share.pool
        unit = KEY_RULES[pool.key].base_per_unit
        points.append(
            Point(
                POOL_PROJECTION,
                {
                    "share_eur": share.cents / CENTS_PER_UNIT,
                    "quantity": share.quantity / unit,
                    "pool_eur": pool.total_cents / CENTS_PER_UNIT,
                    "key": str(pool.key),
                    "basis": str(projection.basis),
                    "month": str(projection.month),
                },
                at_ms,
                {"pool": pool.name, "user": member_pseudonym(share.member, pseudonym_key)},
            )
        )
    return points


@dataclass(frozen=True, slots=True)
class ProjectionReport:
    """What one projection run computed and wrote."""

    projection: Projection
    points: int
    refused_pools: tuple[str, ...]  # pools whose name cannot be a tag


class PoolProjector:
    """Projects a month into InfluxDB; the statement scheduler runs it every `every_s`."""

    def __init__(
        self,
        billing: Billing,
        influx: InfluxClient,
        *,
        pseudonym_key: str,
        every_s: float = DEFAULT_EVERY_S,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if every_s <= 0:
            raise BillingInputError("every", "must be positive")
        self.billing = billing
        self.every_s = every_s
        self._influx = influx
        self._key = pseudonym_key
        self._clock = clock

    def current_month(self) -> Month:
        """The workshop's month now."""
        return Month.of(self._clock().astimezone(self.billing.tz).date())

    def project(self, month: Month | None = None) -> ProjectionReport:
        """Compute the month (this one by default) as of now and write its points."""
        now = self._clock()
        projection = project_month(self.billing, month or self.current_month(), now=now)
        lines: list[str] = []
        refused: list[str] = []
        for point in projection_points(projection, pseudonym_key=self._key):
            try:
                lines.append(point.to_line())
            except LineProtocolError as err:
                # A pool named with a backslash or a line break: its shares cannot be a series.
                log.error("pool_projection: pool %r left out: %s", point.tags["pool"], err)
                refused.append(point.tags["pool"])
        try:
            for first in range(0, len(lines), MAX_BATCH_LINES):
                self._influx.write_lines(lines[first : first + MAX_BATCH_LINES])
        except InfluxError as err:
            raise ProjectionError(f"writing the projection of {projection.month}: {err}") from err
        log.info(
            "projected %s (%s pools): %d shares written, left out %s",
            projection.month,
            projection.basis or "no",
            len(lines),
            list(projection.stuck) + sorted(set(refused)),
        )
        return ProjectionReport(projection, len(lines), tuple(sorted(set(refused))))
