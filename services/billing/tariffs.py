"""Tariffs, plans and allowances as rows, and the lookup that picks the price of a session's day.

A tariff row prices one machine (or every machine of a site, or every machine) for one plan (or
every plan) from a local day on. The most specific row wins, then the latest `valid_from` on or
before the session's day: machine beats site beats everything, a named plan beats any plan.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from services.billing.errors import BillingInputError


class Meter(StrEnum):
    """What a session is measured in: each tariff price and each allowance is per one of these."""

    RUNNING_MINUTES = "running_minutes"
    UNLOCKED_MINUTES = "unlocked_minutes"
    KWH = "kwh"


@dataclass(frozen=True, slots=True)
class MeterUnit:
    """How a meter is kept (integer base units) and shown (display units)."""

    symbol: str
    base_per_unit: int


# Rules as data: a meter's base quantity is milliseconds or milliwatt-hours.
METER_UNITS: dict[Meter, MeterUnit] = {
    Meter.RUNNING_MINUTES: MeterUnit("min", 60_000),
    Meter.UNLOCKED_MINUTES: MeterUnit("min", 60_000),
    Meter.KWH: MeterUnit("kWh", 1_000_000),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Tariff:
    """Prices of machine time from a local day on, in micro-euros per meter unit, net of VAT."""

    valid_from: date
    site: str | None = None
    machine: str | None = None
    plan: str | None = None
    per_running_minute: int = 0
    per_unlocked_minute: int = 0
    per_kwh: int = 0
    minimum_cents: int = 0
    vat_bp: int = 0
    # Per booking of the machine that was used, and per booking nobody came for; VAT as above.
    booking_fee_cents: int = 0
    no_show_cents: int = 0

    def __post_init__(self) -> None:
        for name in (
            "per_running_minute",
            "per_unlocked_minute",
            "per_kwh",
            "minimum_cents",
            "booking_fee_cents",
            "no_show_cents",
        ):
            if getattr(self, name) < 0:
                raise BillingInputError(name, "must not be negative")
        if not 0 <= self.vat_bp <= 10_000:
            raise BillingInputError("vat", "must be a percentage from 0 to 100")
        if self.machine is not None and self.site is None:
            raise BillingInputError("site", "a machine's tariff names the machine's site")

    def price(self, meter: Meter) -> int:
        """The price per unit of one meter, in micro-euros."""
        if meter is Meter.RUNNING_MINUTES:
            return self.per_running_minute
        if meter is Meter.UNLOCKED_MINUTES:
            return self.per_unlocked_minute
        return self.per_kwh

    @property
    def priced_meters(self) -> tuple[Meter, ...]:
        """The meters this tariff charges for (price above zero)."""
        return tuple(meter for meter in Meter if self.price(meter) > 0)


FREE = Tariff(valid_from=date(2000, 1, 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class Allowance:
    """Machine time a plan includes each month: a quantity of one meter on a machine (or all)."""

    meter: Meter
    quantity: int  # base units: milliseconds or mWh
    site: str | None = None
    machine: str | None = None

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise BillingInputError("quantity", "must not be negative")

    def covers(self, site: str, machine: str) -> bool:
        """Whether sessions on a machine draw from this allowance."""
        return (self.site is None or self.site == site) and (
            self.machine is None or self.machine == machine
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A membership plan: a monthly fee and the allowances it includes."""

    name: str
    monthly_fee_cents: int = 0
    vat_bp: int = 0
    allowances: tuple[Allowance, ...] = ()
    # Its members are let in at the gateways only while their credit lasts.
    requires_credit: bool = False

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise BillingInputError("name", "a plan needs a name")
        if self.monthly_fee_cents < 0:
            raise BillingInputError("fee", "must not be negative")


@dataclass(frozen=True, slots=True)
class PlanPeriod:
    """A member's plan from a local day on (`plan` None: no plan from that day)."""

    member: str
    valid_from: date
    plan: str | None


@dataclass(frozen=True)
class TariffBook:
    """Every tariff, indexed for the lookup of one session's price."""

    tariffs: Sequence[Tariff]
    _index: dict[tuple[str | None, str | None, str | None], tuple[list[date], list[Tariff]]] = (
        field(init=False, repr=False, default_factory=dict)
    )

    def __post_init__(self) -> None:
        grouped: defaultdict[tuple[str | None, str | None, str | None], list[Tariff]] = defaultdict(
            list
        )
        for tariff in self.tariffs:
            grouped[(tariff.site, tariff.machine, tariff.plan)].append(tariff)
        for key, rows in grouped.items():
            rows.sort(key=lambda row: row.valid_from)
            days = [row.valid_from for row in rows]
            if len(set(days)) != len(days):
                raise BillingInputError("valid_from", f"two tariffs for {key} on the same day")
            self._index[key] = (days, rows)

    @classmethod
    def of(cls, tariffs: Iterable[Tariff]) -> TariffBook:
        """A book of these tariffs."""
        return cls(tuple(tariffs))

    def price_on(self, *, site: str, machine: str, plan: str | None, day: date) -> Tariff:
        """The tariff of a session on a machine, for a plan, on a local day (FREE if none)."""
        keys = (
            (site, machine, plan),
            (site, machine, None),
            (site, None, plan),
            (site, None, None),
            (None, None, plan),
            (None, None, None),
        )
        for key in keys:
            found = self._index.get(key)
            if found is None:
                continue
            days, rows = found
            at = bisect_right(days, day) - 1
            if at >= 0:
                return rows[at]
        return FREE
