"""Takes billed to named parties and takes dated back never create or lose a cent.

Pure: each take lands once, on the statement of the party it names or of its member's default
party, and every party's statement adds up to its own takes. On a real ledger: takes dated back
into October before it is issued are on October's statements, those refused after it is issued
count nothing off stock, and October's and November's takes together are every take recorded.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from services.billing.consumables import ConsumableTake
from services.billing.errors import MonthClosedError
from services.billing.months import Month
from services.billing.store import NewItem
from services.ledger.models import MemberRow
from services.ledger.parties import add_party
from tests.billing.conftest import join
from tests.billing.examples import ROME, member
from tests.billing.test_consumables_properties import take_strategy
from tests.billing.test_engine import MEMBERS, OCTOBER, bill
from tests.billing.test_issue_one import fresh_shop
from tests.fiscal.examples import company, person

# Each member's default party is 10 × her index + 1; her second party is the next number.
DEFAULTS = {who: 10 * n + 1 for n, who in enumerate(MEMBERS)}


@given(
    takes=st.lists(
        st.tuples(take_strategy, st.booleans()), max_size=25, unique_by=lambda t: t[0].id
    ),
)
@settings(max_examples=100, deadline=None)
def test_each_take_is_billed_once_to_the_party_it_names_or_her_default(
    takes: list[tuple[ConsumableTake, bool]],
) -> None:
    named = [
        replace(take, party=DEFAULTS[take.member] + 1)
        if second and take.member in DEFAULTS
        else take
        for take, second in takes
    ]
    accounts = {who: replace(member(who), default_party=DEFAULTS[who]) for who in MEMBERS}
    statements = bill([], members=MEMBERS, takes=named, accounts=accounts)

    billed = [(s.party, t) for s in statements.statements for t in s.consumables]
    assert sorted(t.id for _party, t in billed) == sorted(t.id for t in named)
    for party, take in billed:
        default = DEFAULTS.get(take.member)
        assert party == (default if take.party is None else take.party)
    for statement in statements.statements:
        assert statement.consumable_cents == sum(t.net_cents for t in statement.consumables)
    assert statements.net_cents == sum(t.quantity * t.unit_price_cents for t in named)


@given(
    takes=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=30),  # how many
            st.integers(min_value=0, max_value=33 * 24),  # hours after 1 October, Rome
            st.booleans(),  # to her company
            st.booleans(),  # recorded after October was issued
        ),
        max_size=12,
    ),
    price=st.integers(min_value=0, max_value=50_000),
)
@settings(max_examples=10, deadline=None)
def test_takes_dated_back_are_billed_in_their_month_and_a_closed_month_refuses_them(
    takes: list[tuple[int, int, bool, bool]], price: int
) -> None:
    with fresh_shop() as shop:  # its clock stands at 2 November, 10:00 in Rome
        ledger = shop.billing.ledger
        join(shop, "anna")
        with Session(ledger.engine) as db, db.begin():
            row = db.get(MemberRow, "anna")
            assert row is not None
            now = datetime(2026, 9, 1, tzinfo=UTC)
            add_party(db, row, label="privata", party=person(), default=True, now=now)
            firm = add_party(db, row, label="ditta", party=company(), default=False, now=now).id
        item = ledger.add_item(
            NewItem(name="sheet", unit="pc", price_cents=price, vat_bp=2200), stock=1_000
        )
        start = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)  # 1 October, midnight in Rome
        dated = [
            (quantity, min(start + timedelta(hours=hour), shop.clock.now), party, late)
            for quantity, hour, party, late in takes
        ]
        october_issued = issue_tried = False
        for quantity, when, party, late in sorted(dated, key=lambda take: take[3]):
            if late and not issue_tried:
                shop.billing.make_drafts(OCTOBER)
                # A month with nothing taken has no statement to issue, and stays open.
                october_issued = bool(shop.billing.issue(OCTOBER))
                issue_tried = True
            in_october = when.astimezone(ROME).month == 10
            before = ledger.item(item.id)
            try:
                ledger.take(
                    item.id,
                    member="anna",
                    quantity=quantity,
                    party=firm if party else None,
                    taken_at=when,
                    tz=ROME,
                )
            except MonthClosedError as err:
                assert october_issued and in_october and "2026-10" in str(err)
                assert ledger.item(item.id) == before
            else:
                assert not (october_issued and in_october)

        recorded = ledger.takes(limit=None)
        stock = ledger.item(item.id)
        assert stock is not None and stock.stock == 1_000 - sum(t.quantity for t in recorded)
        october = ledger.month_takes(OCTOBER, ROME)
        november = ledger.month_takes(Month(2026, 11), ROME)
        assert sorted(t.id for t in october + november) == sorted(t.id for t in recorded)
        assert all(t.day < date(2026, 11, 1) for t in october)
        if october_issued:
            issued = ledger.statements(OCTOBER)
            on_statements = sum(s.net_cents for s in issued)
            assert on_statements == sum(t.net_cents for t in october)
