"""Whatever a bank file brings in, every cent is booked once: matched or waiting, never lost."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.bank_files import read_csv
from services.billing.fiscal_print import creditor_reference
from services.billing.payments import import_bank_file, payments_of
from tests.billing.camt import Entry, bank_csv, camt053
from tests.billing.test_issue_one import fresh_shop
from tests.billing.test_payments import issue_october

HOW = ("reference", "number", "name", "nothing")


@settings(max_examples=12, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),  # which member's statement it is meant for
            st.sampled_from(HOW),
            st.one_of(st.none(), st.integers(min_value=1, max_value=200_000)),  # None: in full
        ),
        max_size=8,
    )
)
def test_imported_credits_are_all_booked_and_statements_hold_what_was_assigned(
    credits: list[tuple[int, str, int | None]],
) -> None:
    with fresh_shop() as shop:
        october = list(issue_october(shop).values())
        entries = []
        for target, how, cents in credits:
            statement = october[target]
            number = statement.number or ""
            amount = statement.total_cents if cents is None else cents
            if how == "reference":
                entries.append(Entry(amount, "X", reference=creditor_reference(number)))
            elif how == "number":
                entries.append(Entry(amount, "X", text=f"saldo {number}"))
            elif how == "name":
                entries.append(Entry(amount, statement.member_name))
            else:
                entries.append(Entry(amount, "Sconosciuto", text="bonifico"))
        data = camt053(entries)

        import_bank_file(shop.billing, data)
        import_bank_file(shop.billing, data)

        booked = shop.billing.ledger.payments()
        matched = sum(p.amount_cents for p in booked if p.statement_id is not None)
        waiting = sum(p.amount_cents for p in shop.billing.ledger.payments(unmatched=True))
        assert matched + waiting == sum(e.cents for e in entries)
        assert len(booked) == len(entries)
        assigned: defaultdict[int, int] = defaultdict(int)
        for payment in booked:
            if payment.statement_id is not None:
                assigned[payment.statement_id] += payment.amount_cents
        states = payments_of(shop.billing, october, date(2026, 11, 20))
        assert {s.id: states[s.id].paid_cents for s in october} == {
            s.id: assigned[s.id] for s in october
        }


@given(st.lists(st.integers(min_value=-(10**9), max_value=10**9).filter(bool), max_size=20))
def test_italian_amounts_read_back_to_the_cent_and_only_credits_count(amounts: list[int]) -> None:
    def italian(cents: int) -> str:
        euros, rest = divmod(abs(cents), 100)
        grouped = f"{euros:,}".replace(",", ".")
        return f"{'-' if cents < 0 else ''}{grouped},{rest:02d}"

    rows = [("20/11/2026", italian(cents), "A", "x") for cents in amounts]
    credits = read_csv(bank_csv(rows))
    assert [c.amount_cents for c in credits] == [cents for cents in amounts if cents > 0]
    assert len({c.key for c in credits}) == len(credits)
