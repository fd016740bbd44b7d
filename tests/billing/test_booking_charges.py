"""Booking fees and no-show charges never create or lose a cent, and a cancelled booking is never
charged.

Pure: statements computed from sessions, tariffs, pools, takes and bookings add up to usage priced
plus pools plus consumables plus each booking's fee or no-show charge, line by line and rate by
rate. On a real ledger: bookings made, cancelled and settled (used when the booker badged in,
else no-show) are billed in their month, each once, and none that was cancelled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from services.billing.allocation import CostPool
from services.billing.booking_charges import BookingUse
from services.billing.consumables import ConsumableTake
from services.billing.engine import bill_month
from services.billing.fiscal_lines import LINE_WORDS, NO_NAMES, FiscalLine, document_line
from services.billing.records import Line, LineKind, lines_of, vat_summary
from services.billing.tariffs import Tariff, TariffBook
from services.billing.usage import UsageSession
from services.fiscal.wording import Locale
from services.ledger import MachineSpec
from services.ledger.models import BadgeEventRow
from services.ledger.reservations import (
    BookingRefusedError,
    BookingRules,
    BookingStatus,
    Reservations,
)
from tests.billing.examples import LASER, LATHE, ROME, SITE, rome
from tests.billing.test_consumables_properties import take_strategy
from tests.billing.test_engine import MEMBERS, OCTOBER, bill, pool_strategy, session_strategy
from tests.billing.test_issue_one import fresh_shop

priced_tariffs = st.builds(
    lambda day, machine, run, fee, no_show, vat: Tariff(
        valid_from=date(2026, 10, 1) + timedelta(days=day),
        site=SITE if machine else None,
        machine=machine,
        per_running_minute=run,
        booking_fee_cents=fee,
        no_show_cents=no_show,
        vat_bp=vat,
    ),
    st.integers(min_value=-30, max_value=30),
    st.sampled_from((None, LASER, LATHE)),
    st.integers(min_value=0, max_value=2_000_000),
    st.integers(min_value=0, max_value=5_000),
    st.integers(min_value=0, max_value=20_000),
    st.sampled_from((0, 400, 2_200)),
)
booking_strategy = st.builds(
    lambda n, who, day, hour, machine, no_show: BookingUse(
        id=n,
        member=who,
        site=SITE,
        machine=machine,
        starts_at=rome(2026, 10, 1 + day, hour),
        day=date(2026, 10, 1 + day),
        no_show=no_show,
    ),
    st.integers(min_value=1, max_value=10_000),
    st.sampled_from((*MEMBERS, "stranger")),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=23),
    st.sampled_from((LASER, LATHE)),
    st.booleans(),
)


@given(
    sessions=st.lists(session_strategy, max_size=15),
    tariffs=st.lists(priced_tariffs, max_size=4, unique_by=lambda t: (t.machine, t.valid_from)),
    pools=st.lists(pool_strategy, max_size=2, unique_by=lambda p: p.name),
    takes=st.lists(take_strategy, max_size=10, unique_by=lambda t: t.id),
    bookings=st.lists(booking_strategy, max_size=25, unique_by=lambda b: b.id),
)
@settings(max_examples=100, deadline=None)
def test_statement_totals_are_usage_plus_pools_plus_consumables_plus_booking_charges(
    sessions: list[UsageSession],
    tariffs: list[Tariff],
    pools: list[CostPool],
    takes: list[ConsumableTake],
    bookings: list[BookingUse],
) -> None:
    statements = bill(
        sessions,
        tariffs=tuple(tariffs),
        members=MEMBERS,
        pools=pools,
        takes=takes,
        bookings=bookings,
    )

    book = TariffBook.of(tariffs)
    owed = {}
    for b in bookings:
        tariff = book.price_on(site=b.site, machine=b.machine, plan=None, day=b.day)
        cents = tariff.no_show_cents if b.no_show else tariff.booking_fee_cents
        if cents:
            owed[b.id] = cents
    direct = sum(c.cents for s in statements.statements for c in s.charges)
    taken = sum(take.quantity * take.unit_price_cents for take in takes)
    pooled = sum(p.total_cents for p in pools)
    assert statements.net_cents == direct + pooled + taken + sum(owed.values())
    billed = [c for s in statements.statements for c in s.bookings]
    assert sorted(c.booking.id for c in billed) == sorted(owed)  # each once, none lost
    assert all(c.net_cents == owed[c.booking.id] for c in billed)
    for statement in statements.statements:
        assert {c.booking.member for c in statement.bookings} <= {statement.member.id}
        lines = lines_of(statement)
        kinds = (LineKind.BOOKING_FEE, LineKind.NO_SHOW)
        booking_lines = [line for line in lines if line.kind in kinds]
        assert sum(line.net_cents for line in booking_lines) == statement.booking_cents
        assert sorted(int(line.reference or 0) for line in booking_lines) == sorted(
            c.booking.id for c in statement.bookings
        )
        assert all(
            (line.kind is LineKind.NO_SHOW) is c.no_show
            for line, c in zip(booking_lines, statement.bookings, strict=True)
        )
        assert vat_summary(lines) == statement.vat
        assert statement.total_cents == statement.net_cents + statement.vat_cents


@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(("anna", "bruno")),
            st.integers(min_value=0, max_value=30),  # day of October
            st.integers(min_value=8, max_value=19),  # hour, Rome
            st.sampled_from(("used", "no_show", "cancelled")),
        ),
        max_size=12,
    ),
    fee=st.integers(min_value=0, max_value=3_000),
    no_show=st.integers(min_value=0, max_value=9_000),
)
@settings(max_examples=10, deadline=None)
def test_bookings_settled_in_the_ledger_are_billed_each_once_and_cancelled_ones_never(
    plan: list[tuple[str, int, int, str]], fee: int, no_show: int
) -> None:
    with fresh_shop() as shop:
        shop.registry.save_machine(
            MachineSpec(site=SITE, id=LASER, name="Laser", gateway="gw-1", idle_amps=1, run_amps=4)
        )
        for member in ("anna", "bruno"):
            shop.registry.add_member(member_id=member, name=member.title())
        shop.billing.ledger.add_tariff(
            Tariff(
                valid_from=date(2026, 9, 1),
                site=SITE,
                machine=LASER,
                booking_fee_cents=fee,
                no_show_cents=no_show,
                vat_bp=2200,
            )
        )
        engine = shop.billing.ledger.engine
        reservations = Reservations(engine, zone=ROME, clock=shop.clock)
        reservations.save_rules(
            BookingRules(
                site=SITE, machine=LASER, horizon_days=60, max_open=100, qualified_only=False
            )
        )
        shop.clock.now = datetime(2026, 9, 30, 6, 0, tzinfo=UTC)
        fates: dict[int, str] = {}
        for member, day, hour, fate in plan:
            start = rome(2026, 10, 1 + day, hour)
            try:
                made = reservations.book(
                    site=SITE,
                    machine=LASER,
                    member=member,
                    starts_at=start,
                    ends_at=start + timedelta(hours=1),
                    by=member,
                )
            except BookingRefusedError:
                continue  # the slot is someone's already
            fates[made.id] = fate
            if fate == "cancelled":
                reservations.cancel(made.id, by="coord", staff=True)
            elif fate == "used":
                with Session(engine) as db, db.begin():
                    db.add(
                        BadgeEventRow(
                            id=f"badge-{made.id}",
                            site=SITE,
                            machine=LASER,
                            card_hash="0" * 64,
                            decision="granted",
                            reason="ok",
                            member=member,
                            at=start + timedelta(minutes=2),
                            received_at=start + timedelta(minutes=2),
                        )
                    )
        shop.clock.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        settled = {b.id: b.status for b in reservations.settle()}
        assert settled == {
            n: BookingStatus.USED if fate == "used" else BookingStatus.NO_SHOW
            for n, fate in fates.items()
            if fate != "cancelled"
        }

        statements = bill_month(shop.billing.ledger.month_inputs(OCTOBER, ROME))
        lines = [line for s in statements.statements for line in lines_of(s)]
        fees = [int(x.reference or 0) for x in lines if x.kind is LineKind.BOOKING_FEE]
        shows = [int(x.reference or 0) for x in lines if x.kind is LineKind.NO_SHOW]
        used = sorted(n for n, fate in fates.items() if fate == "used")
        missed = sorted(n for n, fate in fates.items() if fate == "no_show")
        assert sorted(fees) == (used if fee else [])
        assert sorted(shows) == (missed if no_show else [])
        charged = sum(
            x.net_cents for x in lines if x.kind in (LineKind.BOOKING_FEE, LineKind.NO_SHOW)
        )
        assert charged == fee * len(used) + no_show * len(missed)


def test_booking_lines_on_a_fiscal_document_name_the_machine_and_day() -> None:
    for kind, said in (
        (LineKind.BOOKING_FEE, "Prenotazione Laser CO2 del 03/10/2026"),
        (LineKind.NO_SHOW, "Prenotazione mancata Laser CO2 del 03/10/2026"),
    ):
        line = Line(
            kind=kind,
            net_cents=500,
            vat_bp=2200,
            reference="41",
            name="Laser CO2",
            site=SITE,
            machine=LASER,
            day=date(2026, 10, 3),
            quantity=1,
        )
        written = document_line(
            FiscalLine(line, None), 1, LINE_WORDS[Locale.IT], lambda _line: None, NO_NAMES
        )
        assert written.description == said
        assert written.quantity * written.unit_price_cents == written.total_cents == 500
