"""Consumables never create or lose a cent, and stock is what was restocked less what was taken.

Pure: statements computed from sessions, tariffs, pools and takes add up to usage priced plus
pools plus consumables, line by line and rate by rate. On a real ledger: every take, refused or
recorded, leaves stock = restocked − taken, and the takes of two months around a month end go
each to its own month, none twice, none lost.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.allocation import CostPool
from services.billing.consumables import ConsumableTake
from services.billing.errors import BillingInputError
from services.billing.fiscal_lines import (
    DEFAULT_NATURA,
    LINE_WORDS,
    NO_NAMES,
    FiscalLine,
    document_line,
)
from services.billing.months import Month
from services.billing.records import Line, LineKind, lines_of, vat_summary
from services.billing.store import NewItem
from services.billing.tariffs import Tariff
from services.billing.usage import UsageSession
from services.fiscal.wording import Locale
from tests.billing.examples import LASER, LATHE, ROME, SITE
from tests.billing.test_engine import MEMBERS, OCTOBER, bill, pool_strategy, session_strategy
from tests.billing.test_engine import tariff_strategy as tariffs_strategy
from tests.billing.test_issue_one import fresh_shop

take_strategy = st.builds(
    lambda n, who, day, item, quantity, price, vat, machine: ConsumableTake(
        id=n,
        member=who,
        item=f"item-{item}",
        unit="pc",
        quantity=quantity,
        unit_price_cents=price,
        vat_bp=vat,
        day=date(2026, 10, 1) + timedelta(days=day),
        site=SITE if machine else None,
        machine=machine,
    ),
    st.integers(min_value=1, max_value=10_000),
    st.sampled_from((*MEMBERS, "stranger")),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=1, max_value=5_000),
    st.integers(min_value=0, max_value=100_000),
    st.sampled_from((0, 400, 1_000, 2_200)),
    st.sampled_from((None, LASER, LATHE)),
)


@given(
    sessions=st.lists(session_strategy, max_size=20),
    tariffs=st.lists(tariffs_strategy, max_size=4, unique_by=lambda t: (t.machine, t.valid_from)),
    pools=st.lists(pool_strategy, max_size=2, unique_by=lambda p: p.name),
    takes=st.lists(take_strategy, max_size=25, unique_by=lambda t: t.id),
)
@settings(max_examples=100, deadline=None)
def test_statement_totals_are_usage_priced_plus_pools_plus_consumables_to_the_cent(
    sessions: list[UsageSession],
    tariffs: list[Tariff],
    pools: list[CostPool],
    takes: list[ConsumableTake],
) -> None:
    statements = bill(sessions, tariffs=tuple(tariffs), members=MEMBERS, pools=pools, takes=takes)

    direct = sum(c.cents for s in statements.statements for c in s.charges)
    taken = sum(take.quantity * take.unit_price_cents for take in takes)
    assert statements.net_cents == direct + sum(p.total_cents for p in pools) + taken
    billed = [t for s in statements.statements for t in s.consumables]
    assert sorted(t.id for t in billed) == sorted(t.id for t in takes)  # each once, none lost
    for statement in statements.statements:
        assert {t.member for t in statement.consumables} <= {statement.member.id}
        lines = lines_of(statement)
        consumable_lines = [line for line in lines if line.kind is LineKind.CONSUMABLE]
        assert sum(line.net_cents for line in consumable_lines) == statement.consumable_cents
        assert all(
            line.net_cents == (line.quantity or 0) * (line.key_total or 0)
            for line in consumable_lines
        )
        # What is stored (the lines) says the same as what was computed, rate by rate.
        assert vat_summary(lines) == statement.vat
        assert statement.total_cents == statement.net_cents + statement.vat_cents


@given(
    moves=st.lists(
        st.tuples(
            st.sampled_from(("take", "restock")),
            st.integers(min_value=0, max_value=1),  # which item
            st.integers(min_value=1, max_value=40),  # how many
            st.integers(min_value=0, max_value=6 * 24 * 60),  # minutes after 28 October 00:00
        ),
        max_size=25,
    ),
    prices=st.tuples(st.integers(0, 50_000), st.integers(0, 50_000)),
)
@settings(max_examples=12, deadline=None)
def test_stock_is_restocked_less_taken_and_each_take_is_billed_in_its_own_month(
    moves: list[tuple[str, int, int, int]], prices: tuple[int, int]
) -> None:
    with fresh_shop() as shop:
        ledger = shop.billing.ledger
        items = [
            ledger.add_item(
                NewItem(name=f"item-{n}", unit="pc", price_cents=prices[n], vat_bp=2200),
                stock=10,
            )
            for n in (0, 1)
        ]
        start = datetime(2026, 10, 27, 23, 0, tzinfo=UTC)  # 28 October, midnight in Rome
        for kind, which, quantity, minute in sorted(moves, key=lambda move: move[3]):
            shop.clock.now = start + timedelta(minutes=minute)
            item_id = items[which].id
            if kind == "restock":
                ledger.restock(item_id, quantity)
                continue
            before = ledger.item(item_id)
            try:
                ledger.take(item_id, member="anna", quantity=quantity)
            except BillingInputError as err:
                # Refused only for want of stock, and then nothing is counted off.
                assert err.field == "quantity" and before is not None and before.stock < quantity
                assert ledger.item(item_id) == before

        for item in items:
            stock = ledger.item(item.id)
            assert stock is not None
            restocked = sum(r.quantity for r in ledger.restocks(item.id))
            taken = sum(t.quantity for t in ledger.takes(item_id=item.id, limit=None))
            assert stock.stock == restocked - taken >= 0
        recorded = ledger.takes(limit=None)
        assert all(t.net_cents == t.quantity * t.unit_price_cents for t in recorded)
        october = ledger.month_takes(OCTOBER, ROME)
        november = ledger.month_takes(Month(2026, 11), ROME)
        assert sorted(t.id for t in october + november) == sorted(t.id for t in recorded)
        assert all(t.day.month == 10 for t in october) and all(t.day.month == 11 for t in november)
        billed = sum(t.net_cents for t in october + november)
        assert billed == sum(t.net_cents for t in recorded)


@given(
    quantity=st.integers(min_value=1, max_value=100_000),
    price=st.integers(min_value=0, max_value=1_000_000),
    vat=st.sampled_from((0, 400, 1_000, 2_200)),
    sign=st.sampled_from((1, -1)),
)
@settings(max_examples=50, deadline=None)
def test_a_consumable_line_on_a_fiscal_document_is_quantity_times_unit_price_exactly(
    quantity: int, price: int, vat: int, sign: int
) -> None:
    line = Line(
        kind=LineKind.CONSUMABLE,
        net_cents=quantity * price,
        vat_bp=vat,
        reference="Compensato 4 mm",
        day=date(2026, 10, 3),
        key="foglio",
        quantity=quantity,
        key_total=price,
    )
    fiscal = FiscalLine(line, None if vat else DEFAULT_NATURA)

    written = document_line(fiscal, sign, LINE_WORDS[Locale.IT], lambda _line: None, NO_NAMES)

    assert (
        written.quantity * written.unit_price_cents == written.total_cents == sign * line.net_cents
    )
    assert written.unit == "foglio"
    assert written.description == "Materiale: Compensato 4 mm, 03/10/2026"
