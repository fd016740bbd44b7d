"""A month's statements from sessions, tariffs, plans and pools, without a database."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.allocation import AllocationKey, CostPool
from services.billing.charges import AllowanceBalance, AllowanceUse, PriceList, charge_piece
from services.billing.engine import MonthInputs, MonthStatements, bill_month
from services.billing.months import Month, MonthWindow
from services.billing.tariffs import Allowance, Meter, Plan, PlanPeriod, Tariff, TariffBook
from services.billing.usage import UsageSession, epoch_ms, instant, piece_in
from tests.billing.examples import LASER, LATHE, ROME, SITE, member, rome, usage

OCTOBER = Month(2026, 10)
LASER_TARIFF = Tariff(
    valid_from=date(2026, 1, 1), site=SITE, machine=LASER, per_running_minute=500_000
)  # 0.50 € per running minute


def bill(
    sessions: list[UsageSession],
    *,
    tariffs: tuple[Tariff, ...] = (LASER_TARIFF,),
    month: Month = OCTOBER,
    members: tuple[str, ...] = ("anna", "bruno"),
    **more: object,
) -> MonthStatements:
    accounts = more.pop("accounts", None) or {m: member(m) for m in members}
    inputs = MonthInputs(
        month=month,
        tz=ROME,
        sessions=sessions,
        members=accounts,  # type: ignore[arg-type]
        tariffs=TariffBook.of(tariffs),
        **more,  # type: ignore[arg-type]
    )
    return bill_month(inputs)


def total_of(statements: MonthStatements, member_id: str) -> int:
    return next(s for s in statements.statements if s.member.id == member_id).total_cents


def test_october_2026_in_rome_has_an_extra_hour() -> None:
    window = MonthWindow(OCTOBER, ROME)
    assert window.start.isoformat() == "2026-09-30T22:00:00+00:00"
    assert window.end.isoformat() == "2026-10-31T23:00:00+00:00"
    assert window.end - window.start == timedelta(days=31, hours=1)


def test_a_session_across_the_dst_change_is_billed_for_its_real_running_time() -> None:
    # 01:30 CEST to 02:30 CET on 25 October: the clock shows one hour, two went by.
    started, ended = rome(2026, 10, 25, 1, 30), rome(2026, 10, 25, 2, 30, fold=1)
    assert ended - started == timedelta(hours=2)
    session = usage("anna", started, minutes=120)
    statement = bill([session]).statements[0]
    assert statement.direct_cents == 120 * 50
    assert statement.charges[0].day == date(2026, 10, 25)


def test_a_session_just_after_local_midnight_on_the_dst_night_takes_that_days_price() -> None:
    # 00:30 CEST on the 25th is still the 24th in UTC: the local day decides the price.
    new_price = Tariff(
        valid_from=date(2026, 10, 25), site=SITE, machine=LASER, per_running_minute=800_000
    )
    session = usage("anna", rome(2026, 10, 25, 0, 30), minutes=10)
    assert instant(session.started_ms).date() == date(2026, 10, 24)
    statement = bill([session], tariffs=(LASER_TARIFF, new_price)).statements[0]
    assert statement.direct_cents == 10 * 80


def test_a_session_across_the_month_end_is_split_at_local_midnight() -> None:
    # 23:00 on 31 October to 01:00 on 1 November (CET): one hour in each month.
    session = usage("anna", rome(2026, 10, 31, 23, 0), minutes=120, kwh=2.0)
    october = bill([session]).statements[0]
    november = bill([session], month=Month(2026, 11)).statements[0]
    assert [c.piece.running_ms for c in october.charges] == [3_600_000]
    assert [c.piece.energy_mwh for c in november.charges] == [1_000_000]
    assert october.direct_cents + november.direct_cents == 120 * 50
    midnight = epoch_ms(rome(2026, 11, 1))
    assert (october.charges[0].piece.ended_ms, november.charges[0].piece.started_ms) == (
        midnight,
        midnight,
    )


def test_the_minimum_is_charged_once_for_a_session_split_at_month_end() -> None:
    tariff = Tariff(
        valid_from=date(2026, 1, 1),
        site=SITE,
        machine=LASER,
        per_running_minute=10_000,
        minimum_cents=500,
    )
    session = usage("anna", rome(2026, 10, 31, 23, 50), minutes=20)
    october = bill([session], tariffs=(tariff,)).statements[0]
    november = bill([session], tariffs=(tariff,), month=Month(2026, 11)).statements[0]
    assert (october.direct_cents, november.direct_cents) == (500, 10)


def test_a_tariff_change_mid_month_bills_each_session_at_the_price_of_its_day() -> None:
    dearer = Tariff(
        valid_from=date(2026, 10, 15), site=SITE, machine=LASER, per_running_minute=600_000
    )
    before = usage("anna", rome(2026, 10, 14, 23, 50), minutes=30)  # ends on the 15th
    after = usage("anna", rome(2026, 10, 15, 9, 0), minutes=30)
    statement = bill([before, after], tariffs=(LASER_TARIFF, dearer)).statements[0]
    assert [c.cents for c in statement.charges] == [30 * 50, 30 * 60]


def test_a_member_who_joins_mid_month_pays_the_plan_for_their_days_only() -> None:
    maker = Plan(
        name="maker",
        monthly_fee_cents=3_100,
        allowances=(Allowance(meter=Meter.RUNNING_MINUTES, quantity=31 * 60_000, machine=LASER),),
    )
    joined = rome(2026, 10, 22, 18, 0)  # 10 days left: 22nd to 31st
    accounts = {"anna": member("anna"), "carla": member("carla", joined=joined)}
    periods = [
        PlanPeriod("anna", date(2025, 1, 1), "maker"),
        PlanPeriod("carla", joined.date(), "maker"),
    ]
    sessions = [usage("carla", rome(2026, 10, 23, 10), minutes=25)]
    pools = [CostPool(name="rent", total_cents=31_000, key=AllocationKey.MEMBER_DAYS)]
    statements = bill(
        sessions, accounts=accounts, plans={"maker": maker}, plan_periods=periods, pools=pools
    )
    carla = next(s for s in statements.statements if s.member.id == "carla")
    assert [(fee.days, fee.cents) for fee in carla.fees] == [(10, 1_000)]
    # Ten days give ten free minutes of the laser; fifteen are charged.
    assert [(use.granted, use.used) for use in carla.allowances] == [(600_000, 600_000)]
    assert carla.direct_cents == 15 * 50
    # Rent by days of membership: 31 days for anna, 10 for carla.
    assert [s.cents for s in carla.shares] == [7_561]
    assert statements.statements[0].shares[0].cents == 23_439


def test_a_session_inside_the_allowance_costs_nothing_even_with_a_minimum() -> None:
    tariff = Tariff(
        valid_from=date(2026, 1, 1),
        site=SITE,
        machine=LASER,
        per_running_minute=500_000,
        minimum_cents=300,
    )
    plan = Plan(
        name="maker", allowances=(Allowance(meter=Meter.RUNNING_MINUTES, quantity=600 * 60_000),)
    )
    sessions = [usage("anna", rome(2026, 10, 5, 10), minutes=20)]
    statement = bill(
        sessions,
        tariffs=(tariff,),
        plans={"maker": plan},
        plan_periods=[PlanPeriod("anna", date(2026, 1, 1), "maker")],
    ).statements[0]
    assert statement.direct_cents == 0


def test_vat_is_added_per_rate_on_the_statement() -> None:
    tariff = Tariff(
        valid_from=date(2026, 1, 1), per_running_minute=333_333, vat_bp=2_200
    )  # 0.333333 € a minute, every machine
    sessions = [usage("anna", rome(2026, 10, 5, 10), minutes=10, machine=LATHE)]
    statement = bill(sessions, tariffs=(tariff,)).statements[0]
    assert statement.net_cents == 333
    assert [(v.vat_bp, v.net_cents, v.vat_cents) for v in statement.vat] == [(2_200, 333, 73)]
    assert statement.total_cents == 406


MEMBERS = ("anna", "bruno", "carla", "dario", "elena")

session_strategy = st.builds(
    lambda who, day, hour, minutes, running, kwh, machine: usage(
        who,
        rome(2026, 10, 1) + timedelta(days=day, hours=hour),
        minutes=minutes,
        running_minutes=minutes * running,
        kwh=kwh,
        machine=machine,
    ),
    st.sampled_from(MEMBERS),
    st.integers(min_value=-1, max_value=31),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=600),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=40),
    st.sampled_from((LASER, LATHE)),
)
tariff_strategy = st.builds(
    lambda day, machine, run, unlocked, kwh, minimum, vat: Tariff(
        valid_from=date(2026, 10, 1) + timedelta(days=day),
        site=SITE if machine else None,
        machine=machine,
        per_running_minute=run,
        per_unlocked_minute=unlocked,
        per_kwh=kwh,
        minimum_cents=minimum,
        vat_bp=vat,
    ),
    st.integers(min_value=-30, max_value=30),
    st.sampled_from((None, LASER, LATHE)),
    st.integers(min_value=0, max_value=2_000_000),
    st.integers(min_value=0, max_value=200_000),
    st.integers(min_value=0, max_value=900_000),
    st.integers(min_value=0, max_value=1_000),
    st.sampled_from((0, 400, 2_200)),
)
pool_strategy = st.builds(
    lambda n, total, key, machines: CostPool(
        name=f"pool-{n}",
        total_cents=total,
        key=key,
        machines=machines if key in (AllocationKey.KWH, AllocationKey.RUNNING_HOURS) else (),
        remainder_key=AllocationKey.EQUAL,
    ),
    st.integers(),
    st.integers(min_value=0, max_value=5_000_000),
    st.sampled_from(list(AllocationKey.__members__.values())[:4]),
    st.sampled_from(((), ((SITE, LASER),))),
)


@given(
    sessions=st.lists(session_strategy, max_size=40),
    tariffs=st.lists(tariff_strategy, max_size=5, unique_by=lambda t: (t.machine, t.valid_from)),
    pools=st.lists(pool_strategy, max_size=4, unique_by=lambda p: p.name),
)
@settings(max_examples=150, deadline=None)
def test_statements_add_up_to_the_direct_charges_and_the_pools(
    sessions: list[UsageSession], tariffs: list[Tariff], pools: list[CostPool]
) -> None:
    statements = bill(sessions, tariffs=tuple(tariffs), members=MEMBERS, pools=pools)
    for pool in pools:
        shares = statements.shares[pool.name]
        assert sum(share.cents for share in shares) == pool.total_cents
        assert all(share.cents >= 0 for share in shares)
        for part in (False, True):
            by_quantity: dict[int, list[int]] = {}
            for share in shares:
                if share.remainder is part:
                    by_quantity.setdefault(share.quantity, []).append(share.cents)
            assert all(max(c) - min(c) <= 1 for c in by_quantity.values())
    direct = sum(c.cents for s in statements.statements for c in s.charges)
    assert statements.net_cents == direct + sum(pool.total_cents for pool in pools)
    for statement in statements.statements:
        assert statement.total_cents == statement.net_cents + statement.vat_cents
        assert all(c.cents >= 0 for c in statement.charges)
    # Every running millisecond in the month is counted once, split sessions included.
    window = MonthWindow(OCTOBER, ROME)
    start_ms, end_ms = epoch_ms(window.start), window.end_ms
    inside = [s for s in sessions if s.started_ms >= start_ms and s.ended_ms <= end_ms]
    counted = sum(c.piece.running_ms for s in statements.statements for c in s.charges)
    assert counted >= sum(s.running_ms for s in inside)


@given(
    start_minute=st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60),
    minutes=st.integers(min_value=0, max_value=5 * 24 * 60),
    running=st.floats(min_value=0, max_value=1),
    kwh=st.floats(min_value=0, max_value=500),
)
@settings(max_examples=200, deadline=None)
def test_the_pieces_of_a_session_in_consecutive_months_add_up_to_the_session(
    start_minute: int, minutes: int, running: float, kwh: float
) -> None:
    # Around the end of October 2026, the night after the DST change's month.
    session = usage(
        "anna",
        rome(2026, 11, 1) + timedelta(minutes=start_minute),
        minutes=minutes,
        running_minutes=minutes * running,
        kwh=kwh,
    )
    pieces = [
        piece
        for month in (Month(2026, 9), OCTOBER, Month(2026, 11), Month(2026, 12))
        for piece in [
            piece_in(
                session, epoch_ms(MonthWindow(month, ROME).start), MonthWindow(month, ROME).end_ms
            )
        ]
        if piece is not None
    ]
    assert sum(p.running_ms for p in pieces) == session.running_ms
    assert sum(p.energy_mwh for p in pieces) == session.energy_mwh
    assert sum(p.unlocked_ms for p in pieces) == session.unlocked_ms
    assert [p.first for p in pieces].count(True) == 1


# The fast paths: a member with no allowance is charged by `PriceList.charge`, skipping the
# allowance walk of `charge_piece`; a session inside the month is its own piece. Both must give
# exactly what the general path gives.

NOTHING_FREE = (
    Allowance(meter=Meter.RUNNING_MINUTES, quantity=0),  # granted nothing
    Allowance(meter=Meter.KWH, quantity=10**12, site=SITE, machine="elsewhere"),  # no session
)


@given(
    session=session_strategy,
    tariff=tariff_strategy,
    cut=st.sampled_from((None, "start", "end")),
    meter=st.sampled_from(list(Meter)),
)
@settings(max_examples=300, deadline=None)
def test_a_charge_without_allowances_is_the_general_charge_with_nothing_free(
    session: UsageSession, tariff: Tariff, cut: str | None, meter: Meter
) -> None:
    window = MonthWindow(OCTOBER, ROME)
    middle = (epoch_ms(window.start) + window.end_ms) // 2
    bounds = {None: (0, 2**62), "start": (session.started_ms + 1, 2**62), "end": (0, middle)}
    piece = piece_in(session, *bounds[cut])
    if piece is None:
        return
    uses = [AllowanceUse("maker", allowance, allowance.quantity) for allowance in NOTHING_FREE]
    # One more that covers the session but is used up.
    spent = Allowance(meter=meter, quantity=60_000)
    uses.append(AllowanceUse("maker", spent, spent.quantity, used=spent.quantity))
    prices = PriceList.of(tariff)
    day = date(2026, 10, 5)
    general = charge_piece(
        piece, day=day, plan="maker", prices=prices, balance=AllowanceBalance(uses)
    )
    assert prices.charge(piece, day, "maker") == general
    assert general.free == ()


@given(
    session=session_strategy,
    start_day=st.integers(min_value=-2, max_value=33),
    days=st.integers(min_value=0, max_value=40),
)
@settings(max_examples=300, deadline=None)
def test_a_session_inside_the_month_is_its_own_only_piece(
    session: UsageSession, start_day: int, days: int
) -> None:
    start_ms = epoch_ms(rome(2026, 10, 1) + timedelta(days=start_day))
    end_ms = start_ms + days * 86_400_000
    piece = piece_in(session, start_ms, end_ms)
    # The engine's shortcut takes such a session as it is, without asking `piece_in`.
    if start_ms <= session.started_ms < end_ms and session.ended_ms <= end_ms:
        assert piece is session
        assert (piece.session, piece.first, piece.whole) == (session, True, True)
    else:
        assert piece is None or (piece is not session and not piece.whole)


@given(
    sessions=st.lists(session_strategy, max_size=60),
    tariffs=st.lists(tariff_strategy, max_size=5, unique_by=lambda t: (t.machine, t.valid_from)),
    pools=st.lists(pool_strategy, max_size=3, unique_by=lambda p: p.name),
    plan_from=st.lists(
        st.one_of(st.none(), st.integers(min_value=-5, max_value=30)),
        min_size=len(MEMBERS),
        max_size=len(MEMBERS),
    ),
)
@settings(max_examples=150, deadline=None)
def test_statements_on_the_fast_path_equal_those_on_the_general_path(
    sessions: list[UsageSession],
    tariffs: list[Tariff],
    pools: list[CostPool],
    plan_from: list[int | None],
) -> None:
    # The same month twice: plans without allowances take the fast path; the same plans with
    # allowances that cover nothing take the general one for every member on them.
    periods = [
        PlanPeriod(who, OCTOBER.first_day + timedelta(days=day), "maker")
        for who, day in zip(MEMBERS, plan_from, strict=True)
        if day is not None
    ]
    plain = Plan(name="maker", monthly_fee_cents=3_100, vat_bp=2_200)
    walked = Plan(name="maker", monthly_fee_cents=3_100, vat_bp=2_200, allowances=NOTHING_FREE)
    fast, general = (
        bill(
            sessions,
            tariffs=tuple(tariffs),
            members=MEMBERS,
            pools=pools,
            plans={"maker": plan},
            plan_periods=periods,
        )
        for plan in (plain, walked)
    )
    assert fast.shares == general.shares
    assert len(fast.statements) == len(general.statements)
    for one, other in zip(fast.statements, general.statements, strict=True):
        assert one.member == other.member
        assert one.charges == other.charges
        assert (one.fees, one.shares) == (other.fees, other.shares)
        assert (one.net_cents, one.vat, one.total_cents) == (
            other.net_cents,
            other.vat,
            other.total_cents,
        )
        assert all(use.used == 0 for use in other.allowances)
        # Each member's charges in the order their sessions started, whatever the input order.
        starts = [(c.piece.session.started_ms, c.piece.session.id) for c in one.charges]
        assert starts == sorted(starts)
