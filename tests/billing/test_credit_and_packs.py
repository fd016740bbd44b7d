"""Credit and packs never create or lose a cent: top-ups = balance + drawn; usage = packs + billed.

Packs are drawn by sessions across month ends and tariff changes: each piece's quantity is what
allowances, packs and the bill took between them, a pack never gives more than it held, and a
statement's money adds up from its lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.charges import EXACT_DENOMINATOR, EXACT_PER_CENT, quantity_of
from services.billing.engine import MonthInputs, MonthStatements, bill_month
from services.billing.errors import BillingInputError
from services.billing.money import round_half_up
from services.billing.months import Month
from services.billing.packs import PackHolding, PackSale, packs_running_s
from services.billing.prepaid import (
    CreditKind,
    CreditMovement,
    balance_of,
    correction_of,
    pay_from_credit,
    running_seconds,
)
from services.billing.records import LineKind, lines_of, vat_summary
from services.billing.tariffs import METER_UNITS, Meter, Tariff, TariffBook
from services.billing.usage import UsageSession, epoch_ms
from tests.billing.examples import LASER, LATHE, ROME, SITE, member, rome, usage
from tests.billing.test_engine import MEMBERS, session_strategy, tariff_strategy

OCTOBER, NOVEMBER = Month(2026, 10), Month(2026, 11)

pack_strategy = st.builds(
    lambda n, who, meter, left, day, days, machine: PackHolding(
        id=n,
        member=who,
        name=f"pack {n}",
        meter=meter,
        left=left,
        valid_from_ms=epoch_ms(rome(2026, 10, 1) + timedelta(days=day)),
        valid_until_ms=epoch_ms(rome(2026, 10, 1) + timedelta(days=day + days)),
        site=SITE if machine else None,
        machine=machine,
    ),
    st.integers(min_value=1, max_value=10_000),
    st.sampled_from(MEMBERS),
    st.sampled_from((Meter.RUNNING_MINUTES, Meter.KWH)),
    st.integers(min_value=0, max_value=20 * 3_600_000),
    st.integers(min_value=-20, max_value=40),
    st.integers(min_value=1, max_value=60),
    st.sampled_from((None, LASER, LATHE)),
)


def _bill(
    month: Month,
    sessions: Sequence[UsageSession],
    tariffs: Sequence[Tariff],
    packs: Sequence[PackHolding],
    sales: Sequence[PackSale] = (),
) -> MonthStatements:
    return bill_month(
        MonthInputs(
            month=month,
            tz=ROME,
            sessions=sessions,
            members={m: member(m) for m in MEMBERS},
            tariffs=TariffBook.of(tariffs),
            packs=packs,
            pack_sales=sales,
        )
    )


def _drawn(statements: MonthStatements) -> dict[int, int]:
    drawn: dict[int, int] = {}
    for statement in statements.statements:
        for draw in statement.pack_draws:
            drawn[draw.pack] = drawn.get(draw.pack, 0) + draw.quantity
    return drawn


@given(
    sessions=st.lists(session_strategy, max_size=30),
    tariffs=st.lists(tariff_strategy, max_size=4, unique_by=lambda t: (t.machine, t.valid_from)),
    packs=st.lists(pack_strategy, max_size=5, unique_by=lambda p: p.id),
)
@settings(max_examples=150, deadline=None)
def test_packs_are_drawn_before_pricing_and_no_cent_or_minute_is_made_or_lost(
    sessions: list[UsageSession], tariffs: list[Tariff], packs: list[PackHolding]
) -> None:
    # October, then November with what October left of each pack: across the month end and
    # whatever tariff changes the strategy drew.
    left = {p.id: p.left for p in packs}
    for month in (OCTOBER, NOVEMBER):
        holdings = [replace(p, left=left[p.id]) for p in packs]
        statements = _bill(month, sessions, tariffs, holdings)
        assert [p.left for p in holdings] == [left[p.id] for p in packs]  # inputs untouched
        for pack_id, quantity in _drawn(statements).items():
            assert 0 < quantity <= left[pack_id]
            left[pack_id] -= quantity
        for statement in statements.statements:
            for charge in statement.charges:
                packs_by_id = {p.id: p for p in holdings}
                for pack_id, meter, _ in charge.packed:
                    pack = packs_by_id[pack_id]
                    assert pack.member == statement.member.id and pack.meter is meter
                    assert pack.covers(charge.piece)
                # Exact amounts, before the one rounding: what the bill prices is the piece's
                # usage less what allowances and packs took.
                exact = 0
                for meter in charge.tariff.priced_meters:
                    free = sum(q for m, q in charge.free if m is meter)
                    packed = sum(q for _, m, q in charge.packed if m is meter)
                    billable = quantity_of(charge.piece, meter) - free - packed
                    assert billable >= 0
                    exact += charge.tariff.price(meter) * billable * _exact_factor(meter)
                cents = round_half_up(exact, EXACT_PER_CENT)
                if charge.minimum_applied:
                    assert charge.cents == charge.tariff.minimum_cents > cents
                else:
                    assert charge.cents == cents
            lines = lines_of(statement)
            assert sum(line.net_cents for line in lines) == statement.net_cents
            assert sum(v.vat_cents for v in vat_summary(lines)) == statement.vat_cents
            draws = [line for line in lines if line.kind is LineKind.PACK_DRAW]
            assert all(line.net_cents == 0 and line.quantity for line in draws)
    assert all(v >= 0 for v in left.values())


def _exact_factor(meter: Meter) -> int:
    return EXACT_DENOMINATOR // METER_UNITS[meter].base_per_unit


@given(
    sessions=st.lists(session_strategy, max_size=20),
    tariffs=st.lists(tariff_strategy, max_size=4, unique_by=lambda t: (t.machine, t.valid_from)),
    packs=st.lists(pack_strategy, max_size=4, unique_by=lambda p: p.id),
)
@settings(max_examples=100, deadline=None)
def test_the_time_packs_cover_is_exactly_what_the_bill_no_longer_prices(
    sessions: list[UsageSession], tariffs: list[Tariff], packs: list[PackHolding]
) -> None:
    # statement totals = usage priced - packs drawn: per meter, the quantity billed without
    # packs is the quantity billed with them plus the quantity drawn.
    without = _bill(OCTOBER, sessions, tariffs, [])
    with_packs = _bill(OCTOBER, sessions, tariffs, packs)
    for meter in (Meter.RUNNING_MINUTES, Meter.KWH):

        def billed(statements: MonthStatements, meter: Meter = meter) -> int:
            return sum(
                quantity_of(c.piece, meter)
                - sum(q for m, q in c.free if m is meter)
                - sum(q for _, m, q in c.packed if m is meter)
                for s in statements.statements
                for c in s.charges
                if meter in c.tariff.priced_meters
            )

        drawn = sum(
            d.quantity for s in with_packs.statements for d in s.pack_draws if d.meter is meter
        )
        assert billed(without) == billed(with_packs) + drawn


def test_the_oldest_expiring_pack_is_drawn_first_and_a_pack_sold_is_invoiced_with_its_vat() -> None:
    laser = Tariff(
        valid_from=date(2026, 1, 1), site=SITE, machine=LASER, per_running_minute=500_000
    )
    start, end = epoch_ms(rome(2026, 10, 1)), epoch_ms(rome(2027, 1, 1))
    later = PackHolding(
        id=1, member="anna", name="10 h", meter=Meter.RUNNING_MINUTES, left=3_600_000,
        valid_from_ms=start, valid_until_ms=end,
    )  # fmt: skip
    sooner = PackHolding(
        id=2, member="anna", name="1 h", meter=Meter.RUNNING_MINUTES, left=1_800_000,
        valid_from_ms=start, valid_until_ms=end - 1,
    )  # fmt: skip
    session = usage("anna", rome(2026, 10, 5, 10), minutes=90)
    sale = PackSale(2, "anna", "1 h", Meter.RUNNING_MINUTES, 1_800_000, 1_000, 2_200)
    [statement] = _bill(OCTOBER, [session], [laser], [later, sooner], (sale,)).statements
    assert [(d.pack, d.quantity) for d in statement.pack_draws] == [(1, 3_600_000), (2, 1_800_000)]
    assert statement.direct_cents == 0
    assert statement.net_cents == 1_000 and statement.vat_cents == 220
    kinds = [line.kind for line in lines_of(statement)]
    assert kinds.count(LineKind.PACK) == 1 and kinds.count(LineKind.PACK_DRAW) == 2


movements = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), st.integers(min_value=1, max_value=10**7)),
        st.tuples(st.just("statement"), st.integers(min_value=0, max_value=10**7)),
        st.tuples(st.just("correction"), st.integers(min_value=1, max_value=10**7)),
    ),
    max_size=40,
)


@given(movements)
@settings(max_examples=300, deadline=None)
def test_top_ups_are_the_balance_plus_what_was_drawn(steps: list[tuple[str, int]]) -> None:
    ledger: list[CreditMovement] = []
    topped, drawn, owed, billed = 0, 0, 0, 0
    for kind, amount in steps:
        balance = balance_of(ledger)
        if kind == "top_up":
            ledger.append(CreditMovement(CreditKind.TOP_UP, amount))
            topped += amount
        elif kind == "statement":
            paid = pay_from_credit(balance, amount)
            assert paid.drawn_cents + paid.owed_cents == amount
            assert paid.balance_after_cents == balance - paid.drawn_cents >= 0
            if paid.movement is not None:
                ledger.append(paid.movement)
            drawn += paid.drawn_cents
            owed += paid.owed_cents
            billed += amount
        elif amount <= balance:
            ledger.append(correction_of(balance, amount))
            drawn += amount
        else:
            with pytest.raises(BillingInputError):
                correction_of(balance, amount)
        assert balance_of(ledger) >= 0
    assert topped == balance_of(ledger) + drawn
    assert billed == owed + sum(-m.amount_cents for m in ledger if m.kind is CreditKind.STATEMENT)


@given(
    cents=st.integers(min_value=-(10**6), max_value=10**9),
    price=st.integers(min_value=0, max_value=10**8),
)
def test_credit_at_the_gateway_never_buys_more_than_it_pays_for(cents: int, price: int) -> None:
    seconds = running_seconds(cents, price)
    if cents <= 0:
        assert seconds == 0.0
    elif price == 0:
        assert seconds is None
    else:
        assert seconds is not None
        # The time it buys costs no more than the credit, to the micro-euro.
        assert round(seconds * 1000) * price <= cents * 10_000 * 60_000


@given(
    left=st.integers(min_value=0, max_value=10**12),
    meter=st.sampled_from([Meter.RUNNING_MINUTES, Meter.KWH]),
    rated_w=st.one_of(st.none(), st.floats(min_value=0.5, max_value=100_000)),
    machine=st.sampled_from([None, LASER, LATHE]),
)
def test_packs_at_the_gateway_never_buy_more_than_they_hold(
    left: int, meter: Meter, rated_w: float | None, machine: str | None
) -> None:
    pack = PackHolding(
        id=1,
        member="anna",
        name="pack",
        meter=meter,
        left=left,
        valid_from_ms=0,
        valid_until_ms=10_000,
        machine=machine,
    )
    seconds = packs_running_s([pack], site=SITE, machine=LASER, at_ms=5_000, rated_w=rated_w)
    if machine == LATHE or (meter is Meter.KWH and rated_w is None):
        assert seconds == 0.0
    elif meter is Meter.RUNNING_MINUTES:
        assert seconds == left / 1000
    else:
        assert rated_w is not None
        # At the machine's most, the time runs on no more energy than the pack holds (mWh).
        assert round(seconds * 1000) * rated_w / 3_600 <= left + 1e-6 * left + 1e-9
    # Out of its validity it buys nothing; no cent is involved at all.
    assert packs_running_s([pack], site=SITE, machine=LASER, at_ms=10_000, rated_w=rated_w) == 0
