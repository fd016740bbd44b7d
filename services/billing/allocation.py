"""Cost pools and their split: shares that add up to the bill exactly, by largest remainder.

Each member's exact share is `total × quantity / key total`. Everyone first gets the whole cents
of it; the cents left over go one each to the largest remainders, ties broken by member id.
So shares sum to the total, none is negative, equal quantities differ by at most one cent, and
a member whose quantity is zero gets nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.billing.errors import BillingInputError, UnallocatablePoolError
from services.billing.money import round_half_up


class AllocationKey(StrEnum):
    """How a pool is split among members."""

    KWH = "kwh"
    RUNNING_HOURS = "running_hours"
    EQUAL = "equal"
    MEMBER_DAYS = "member_days"
    WEIGHTS = "weights"


@dataclass(frozen=True, slots=True)
class KeyRule:
    """What a key counts, in which unit, and whether it is measured from usage."""

    unit: str
    base_per_unit: int
    usage_based: bool
    label: str


# Rules as data: a key's quantities are integers in its base unit (mWh, ms, members, days, 1/1000).
KEY_RULES: dict[AllocationKey, KeyRule] = {
    AllocationKey.KWH: KeyRule("kWh", 1_000_000, usage_based=True, label="metered kWh"),
    AllocationKey.RUNNING_HOURS: KeyRule("h", 3_600_000, usage_based=True, label="running hours"),
    AllocationKey.EQUAL: KeyRule("", 1, usage_based=False, label="equal per active member"),
    AllocationKey.MEMBER_DAYS: KeyRule("d", 1, usage_based=False, label="days of membership"),
    AllocationKey.WEIGHTS: KeyRule("", 1000, usage_based=False, label="fixed weights"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CostPool:
    """A month's shared bill and how to split it; machines empty means every machine."""

    name: str
    total_cents: int
    key: AllocationKey
    machines: tuple[tuple[str, str], ...] = ()
    weight_set: str | None = None
    # The bill's own measure in the key's base units (the kWh on the electricity bill): the part
    # of the bill the members' metered quantity does not reach goes to the remainder key.
    billed_quantity: int | None = None
    remainder_key: AllocationKey | None = None
    remainder_weight_set: str | None = None
    vat_bp: int = 0
    id: int | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise BillingInputError("name", "a cost pool needs a name")
        if self.total_cents < 0:
            raise BillingInputError("total", "must not be negative")
        if not 0 <= self.vat_bp <= 10_000:
            raise BillingInputError("vat", "must be a percentage from 0 to 100")
        if self.key is AllocationKey.WEIGHTS and not self.weight_set:
            raise BillingInputError("weights", "the weights key needs a weight set")
        if self.remainder_key is AllocationKey.WEIGHTS and not self.remainder_weight_set:
            raise BillingInputError("remainder_weights", "the weights key needs a weight set")
        if self.machines and not KEY_RULES[self.key].usage_based:
            raise BillingInputError("machines", f"the {self.key} key does not count machines")
        if self.billed_quantity is not None:
            if not KEY_RULES[self.key].usage_based:
                raise BillingInputError("billed_quantity", f"the {self.key} key is not metered")
            if self.billed_quantity <= 0:
                raise BillingInputError("billed_quantity", "must be greater than zero")
            if self.remainder_key is None:
                raise BillingInputError(
                    "remainder_key", "a billed quantity needs a key for the unmetered remainder"
                )


@dataclass(frozen=True, slots=True)
class PoolShare:
    """One member's share of one pool, with the key and quantities that made it."""

    pool: CostPool
    member: str
    key: AllocationKey
    quantity: int
    key_total: int
    cents: int
    remainder: bool  # the share of the unmetered remainder, by the second key


def largest_remainder(total: int, quantities: Mapping[str, int]) -> dict[str, int]:
    """Split `total` cents in proportion to integer quantities; members with zero get nothing."""
    if total < 0:
        raise ValueError("total must not be negative")
    weighed = {member: q for member, q in quantities.items() if q > 0}
    if any(q < 0 for q in quantities.values()):
        raise ValueError("quantities must not be negative")
    whole = sum(weighed.values())
    if whole == 0:
        raise ValueError("nothing to split by")
    shares: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for member, quantity in weighed.items():
        share, remainder = divmod(total * quantity, whole)
        shares[member] = share
        remainders.append((-remainder, member))
    leftover = total - sum(shares.values())
    remainders.sort()
    for _, member in remainders[:leftover]:
        shares[member] += 1
    return shares


QuantitiesOf = Callable[[AllocationKey, tuple[tuple[str, str], ...], str | None], dict[str, int]]


def split_pool(pool: CostPool, quantities_of: QuantitiesOf) -> list[PoolShare]:
    """Every member's share of a pool; the metered part by its key, the rest by the second key."""
    primary = quantities_of(pool.key, pool.machines, pool.weight_set)
    primary_total = sum(q for q in primary.values() if q > 0)
    if pool.billed_quantity is not None:
        reached = min(primary_total, pool.billed_quantity)
        metered_cents = round_half_up(pool.total_cents * reached, pool.billed_quantity)
    else:
        metered_cents = pool.total_cents if primary_total else 0
    shares: list[PoolShare] = []
    if metered_cents:
        for member, cents in sorted(largest_remainder(metered_cents, primary).items()):
            shares.append(
                PoolShare(pool, member, pool.key, primary[member], primary_total, cents, False)
            )
    rest = pool.total_cents - metered_cents
    if rest == 0:
        return shares
    if pool.remainder_key is None:
        raise UnallocatablePoolError(pool.name, KEY_RULES[pool.key].label)
    second = quantities_of(pool.remainder_key, (), pool.remainder_weight_set)
    second_total = sum(q for q in second.values() if q > 0)
    if not second_total:
        raise UnallocatablePoolError(pool.name, KEY_RULES[pool.remainder_key].label)
    for member, cents in sorted(largest_remainder(rest, second).items()):
        shares.append(
            PoolShare(pool, member, pool.remainder_key, second[member], second_total, cents, True)
        )
    return shares
