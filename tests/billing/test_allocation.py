"""Cost pools split to the cent: the properties the treasurer relies on, for any numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.allocation import (
    AllocationKey,
    CostPool,
    largest_remainder,
    split_pool,
)
from services.billing.errors import BillingInputError, UnallocatablePoolError

member_ids = st.text(alphabet="abcdefgh0123", min_size=1, max_size=6)
quantities = st.dictionaries(member_ids, st.integers(min_value=0, max_value=10**9), min_size=1)


@given(total=st.integers(min_value=0, max_value=10**9), quantities=quantities)
@settings(max_examples=300)
def test_shares_add_up_to_the_bill_and_follow_the_quantities(
    total: int, quantities: dict[str, int]
) -> None:
    if not any(quantities.values()):
        with pytest.raises(ValueError, match="nothing to split"):
            largest_remainder(total, quantities)
        return
    shares = largest_remainder(total, quantities)
    assert sum(shares.values()) == total
    assert all(cents >= 0 for cents in shares.values())
    assert set(shares) == {member for member, q in quantities.items() if q > 0}
    whole = sum(quantities.values())
    for member, cents in shares.items():
        exact = total * quantities[member] / whole
        assert abs(cents - exact) < 1
    for a, qa in quantities.items():
        for b, qb in quantities.items():
            if qa == qb and qa > 0:
                assert abs(shares[a] - shares[b]) <= 1


def test_leftover_cents_go_to_the_lowest_member_ids_on_a_tie() -> None:
    shares = largest_remainder(100, {"carla": 1, "anna": 1, "bruno": 1})
    assert shares == {"anna": 34, "bruno": 33, "carla": 33}


def test_members_without_usage_get_no_usage_share() -> None:
    pool = CostPool(name="electricity", total_cents=10_000, key=AllocationKey.KWH)
    shares = split_pool(pool, lambda key, machines, weights: {"anna": 3, "bruno": 0, "carla": 1})
    assert {share.member: share.cents for share in shares} == {"anna": 7_500, "carla": 2_500}


def test_an_unmetered_remainder_is_split_by_the_second_key() -> None:
    # A 900 € bill for 3,000 kWh; the machines metered 2,000 kWh: a third is lighting and heating.
    pool = CostPool(
        name="electricity",
        total_cents=90_000,
        key=AllocationKey.KWH,
        billed_quantity=3_000 * 1_000_000,
        remainder_key=AllocationKey.EQUAL,
    )
    metered = {"anna": 1_500 * 1_000_000, "bruno": 500 * 1_000_000}
    everyone = {"anna": 1, "bruno": 1, "carla": 1}

    def quantities_of(key: AllocationKey, machines: object, weights: object) -> dict[str, int]:
        return metered if key is AllocationKey.KWH else everyone

    shares = split_pool(pool, quantities_of)
    by_part = {(share.member, share.remainder): share.cents for share in shares}
    assert by_part == {
        ("anna", False): 45_000,
        ("bruno", False): 15_000,
        ("anna", True): 10_000,
        ("bruno", True): 10_000,
        ("carla", True): 10_000,
    }
    assert sum(share.cents for share in shares) == 90_000


def test_a_pool_nobody_used_and_without_a_second_key_is_refused_by_name() -> None:
    pool = CostPool(name="laser tubes", total_cents=5_000, key=AllocationKey.RUNNING_HOURS)
    with pytest.raises(UnallocatablePoolError, match="laser tubes"):
        split_pool(pool, lambda key, machines, weights: {})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"total_cents": -1}, "total"),
        ({"key": AllocationKey.WEIGHTS}, "weights"),
        ({"key": AllocationKey.EQUAL, "machines": (("s", "m"),)}, "machines"),
        ({"billed_quantity": 10}, "remainder_key"),
        ({"name": " "}, "name"),
    ],
)
def test_a_pool_that_cannot_be_split_names_its_wrong_field(
    fields: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {"name": "rent", "total_cents": 100, "key": AllocationKey.KWH}
    arguments.update(fields)
    with pytest.raises(BillingInputError) as raised:
        CostPool(**arguments)  # type: ignore[arg-type]
    assert raised.value.field == field
