"""Drafts issued one at a time, in any order: gapless numbers and not a cent changed.

The treasurer's pages issue a single draft; each is numbered next in the series, keeps the
amounts it was drafted with, and a whole credit note takes back exactly what it charged.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.errors import StatementStateError
from services.billing.months import Month
from services.billing.records import StatementKind
from services.billing.service import Billing
from services.billing.settings import BillingSettings
from services.billing.store import BillingLedger
from services.billing.tariffs import Tariff
from services.ledger import MachineSpec, Registry, SessionBook
from tests.billing.conftest import Clock, Shop, book, join
from tests.billing.examples import LASER, SITE, rome

OCTOBER = Month(2026, 10)


@contextmanager
def fresh_shop() -> Iterator[Shop]:
    """A workshop on a SQLite ledger of its own (one per example, so numbers start at 1)."""
    with tempfile.TemporaryDirectory() as folder:
        clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
        ledger = BillingLedger.open(f"sqlite:///{Path(folder) / 'ledger.sqlite3'}", clock=clock)
        try:
            yield Shop(
                SessionBook(ledger.engine),
                Registry(ledger.engine),
                Billing(ledger, BillingSettings(), terminal=False),
                clock,
            )
        finally:
            ledger.close()


@settings(max_examples=10, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=5),  # minutes each
    st.integers(min_value=1, max_value=3_000_000),  # micro-euros per running minute
    st.sampled_from((0, 400, 1000, 2200)),
    st.randoms(use_true_random=False),
)
def test_drafts_issued_one_by_one_are_numbered_in_turn_and_credited_to_the_cent(
    minutes: list[int], price: int, vat_bp: int, chance: random.Random
) -> None:
    with fresh_shop() as shop:
        shop.registry.save_machine(
            MachineSpec(
                site=SITE, id=LASER, name="Laser CO2", gateway="gw-1", idle_amps=1, run_amps=4
            )
        )
        shop.billing.ledger.add_tariff(
            Tariff(
                valid_from=date(2026, 1, 1),
                site=SITE,
                machine=LASER,
                per_running_minute=price,
                vat_bp=vat_bp,
            )
        )
        for n, used in enumerate(minutes):
            member = f"m{n}"
            join(shop, member)
            book(shop, member, rome(2026, 10, 5 + n, 9), minutes=used)
        shop.billing.make_drafts(OCTOBER)
        drafts = {s.id: s for s in shop.billing.ledger.statements(OCTOBER)}
        order = sorted(drafts)
        chance.shuffle(order)

        numbers = [shop.billing.issue_statement(i, by="treasurer") for i in order]

        assert numbers == [f"2026/{n:04d}" for n in range(1, len(order) + 1)]
        for statement_id in order:
            issued = shop.billing.ledger.statement_by_id(statement_id)
            draft = drafts[statement_id]
            assert issued is not None and issued.lines == draft.lines
            assert (issued.net_cents, issued.vat_cents, issued.total_cents) == (
                draft.net_cents,
                draft.vat_cents,
                draft.total_cents,
            )
            assert all(line.name == "Laser CO2" for line in issued.lines if line.machine)
            assert issued.number is not None
            if issued.net_cents == 0:  # a few minutes at a tiny price round to nothing
                with pytest.raises(StatementStateError, match="nothing to credit"):
                    shop.billing.credit(issued.number, reason="machine broke", by="treasurer")
                continue
            note = shop.billing.credit(issued.number, reason="machine broke", by="treasurer")
            assert (note.net_cents, note.vat_cents, note.total_cents) == (
                -issued.net_cents,
                -issued.vat_cents,
                -issued.total_cents,
            )
        month = shop.billing.ledger.statements(OCTOBER)
        assert sum(s.total_cents for s in month) == 0
        credited = sum(1 for s in drafts.values() if s.net_cents)
        assert sum(s.kind is StatementKind.CREDIT_NOTE for s in month) == credited
        assert {run.by for run in shop.billing.ledger.runs(OCTOBER)} == {None, "treasurer"}


def test_an_issued_statement_is_not_issued_again() -> None:
    with fresh_shop() as shop:
        join(shop, "anna")
        shop.billing.ledger.add_tariff(
            Tariff(valid_from=date(2026, 1, 1), site=SITE, per_running_minute=500_000)
        )
        book(shop, "anna", rome(2026, 10, 5, 9), minutes=30)
        shop.billing.make_drafts(OCTOBER)
        (draft,) = shop.billing.ledger.statements(OCTOBER)
        shop.billing.issue_statement(draft.id)
        with pytest.raises(StatementStateError, match="issued already"):
            shop.billing.issue_statement(draft.id)
        with pytest.raises(StatementStateError, match="no statement"):
            shop.billing.issue_statement(draft.id + 1000)
        assert [s.number for s in shop.billing.ledger.statements(OCTOBER)] == ["2026/0001"]
