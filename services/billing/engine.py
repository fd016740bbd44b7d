"""The month's statements, computed from rows alone: no database, no clock, no formatting.

`bill_month` takes what the ledger holds for a month (sessions, members, plans, tariffs, pools)
and returns one statement per member and billing party that owes anything: each party's
statement carries the session pieces of the cards that go to it; the member's default party's
carries her plan fees and her shares of every cost pool too.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from operator import attrgetter
from zoneinfo import ZoneInfo

from services.billing.allocation import AllocationKey, CostPool, PoolShare, split_pool
from services.billing.booking_charges import BookingCharge, BookingUse, booking_charge
from services.billing.charges import (
    AllowanceBalance,
    AllowanceUse,
    PriceList,
    SessionCharge,
    charge_piece,
)
from services.billing.consumables import ConsumableTake
from services.billing.errors import UnallocatablePoolError
from services.billing.gc_pause import collector_paused
from services.billing.money import round_half_up, vat_cents
from services.billing.months import Month, MonthWindow
from services.billing.packs import PackBalance, PackDraw, PackHolding, PackSale, draws_of
from services.billing.tariffs import Plan, PlanPeriod, TariffBook
from services.billing.usage import Piece, UsageSession, piece_in

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
StuckPool = Callable[[CostPool, UnallocatablePoolError], None]
PROGRESS_EVERY = 10_000  # sessions
_STARTED = attrgetter("started_ms")
_START_ORDER = attrgetter("started_ms", "id")


def _no_progress(_done: int) -> None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberAccount:
    """A member as billing sees them; `joined_at` None for a member id not in the registry."""

    id: str
    name: str
    email: str | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    locale: str | None = None
    # The party her plan fees, shares and sessions of cards with no party go to.
    default_party: int | None = None


@dataclass(frozen=True, kw_only=True)
class MonthInputs:
    """Everything one month's statements are made of."""

    month: Month
    tz: ZoneInfo
    sessions: Sequence[UsageSession]
    members: Mapping[str, MemberAccount]
    plans: Mapping[str, Plan] = field(default_factory=dict)
    plan_periods: Sequence[PlanPeriod] = ()
    tariffs: TariffBook = field(default_factory=lambda: TariffBook(()))
    pools: Sequence[CostPool] = ()
    weights: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Consumables taken in the month, each on the statement of the party it names (or her
    # default party's).
    takes: Sequence[ConsumableTake] = ()
    # Bookings used or no-show in the month, priced by their machine's tariff.
    bookings: Sequence[BookingUse] = ()
    # Packs members hold at the month's start (what is left of them), and packs bought in it.
    packs: Sequence[PackHolding] = ()
    pack_sales: Sequence[PackSale] = ()


@dataclass(frozen=True, slots=True)
class PlanFee:
    """A plan's monthly fee for the days the member was on it."""

    plan: str
    days: int
    month_days: int
    cents: int
    vat_bp: int


@dataclass(frozen=True, slots=True)
class MachineSummary:
    """A member's month on one machine: sessions, quantities and what they cost."""

    site: str
    machine: str
    sessions: int
    running_ms: int
    unlocked_ms: int
    energy_mwh: int
    free_running_ms: int
    cents: int


@dataclass(frozen=True, slots=True)
class VatLine:
    """Net amount, rate and VAT of the lines at one rate."""

    vat_bp: int
    net_cents: int
    vat_cents: int


@dataclass(frozen=True)
class MemberStatement:
    """One member's month for one billing party: every line and the totals, all in cents."""

    month: Month
    member: MemberAccount
    charges: tuple[SessionCharge, ...]
    fees: tuple[PlanFee, ...]
    allowances: tuple[AllowanceUse, ...]
    shares: tuple[PoolShare, ...]
    party: int | None = None
    consumables: tuple[ConsumableTake, ...] = ()
    bookings: tuple[BookingCharge, ...] = ()
    pack_sales: tuple[PackSale, ...] = ()
    pack_names: Mapping[int, str] = field(default_factory=dict)

    @cached_property
    def pack_draws(self) -> tuple[PackDraw, ...]:
        """What the sessions drew from each pack, summed per pack."""
        drawn = (taken for charge in self.charges for taken in charge.packed)
        return draws_of(drawn, dict(self.pack_names))

    @cached_property
    def pack_cents(self) -> int:
        """The packs bought this month."""
        return sum(sale.cents for sale in self.pack_sales)

    @cached_property
    def direct_cents(self) -> int:
        """The sessions' charges."""
        return sum(charge.cents for charge in self.charges)

    @cached_property
    def pool_cents(self) -> int:
        """The shares of the cost pools."""
        return sum(share.cents for share in self.shares)

    @cached_property
    def fee_cents(self) -> int:
        """The plan fees."""
        return sum(fee.cents for fee in self.fees)

    @cached_property
    def consumable_cents(self) -> int:
        """The consumables taken."""
        return sum(take.net_cents for take in self.consumables)

    @cached_property
    def booking_cents(self) -> int:
        """The bookings' fees and no-show charges."""
        return sum(charge.net_cents for charge in self.bookings)

    @cached_property
    def net_cents(self) -> int:
        """Everything before VAT."""
        return (
            self.direct_cents
            + self.pool_cents
            + self.fee_cents
            + self.consumable_cents
            + self.booking_cents
            + self.pack_cents
        )

    @cached_property
    def vat(self) -> tuple[VatLine, ...]:
        """Net and VAT per rate, VAT rounded once per rate (see RULES.md)."""
        by_rate: defaultdict[int, int] = defaultdict(int)
        for charge in self.charges:
            by_rate[charge.tariff.vat_bp] += charge.cents
        for fee in self.fees:
            by_rate[fee.vat_bp] += fee.cents
        for share in self.shares:
            by_rate[share.pool.vat_bp] += share.cents
        for take in self.consumables:
            by_rate[take.vat_bp] += take.net_cents
        for booking in self.bookings:
            by_rate[booking.vat_bp] += booking.net_cents
        for sale in self.pack_sales:
            by_rate[sale.vat_bp] += sale.cents
        return tuple(
            VatLine(rate, net, vat_cents(net, rate)) for rate, net in sorted(by_rate.items())
        )

    @cached_property
    def vat_cents(self) -> int:
        """All the VAT."""
        return sum(line.vat_cents for line in self.vat)

    @cached_property
    def total_cents(self) -> int:
        """What the member owes."""
        return self.net_cents + self.vat_cents

    @cached_property
    def machines(self) -> tuple[MachineSummary, ...]:
        """The sessions summed per machine, by site and machine."""
        sums: dict[tuple[str, str], list[int]] = {}
        for charge in self.charges:
            piece = charge.piece
            row = sums.setdefault((piece.session.site, piece.session.machine), [0] * 6)
            row[0] += 1
            row[1] += piece.running_ms
            row[2] += piece.unlocked_ms
            row[3] += piece.energy_mwh
            row[4] += charge.free_running_ms
            row[5] += charge.cents
        return tuple(
            MachineSummary(site, machine, *row) for (site, machine), row in sorted(sums.items())
        )


@dataclass(frozen=True)
class MonthStatements:
    """All of a month's statements, by member id and party, and every pool's shares."""

    month: Month
    statements: tuple[MemberStatement, ...]
    shares: Mapping[str, tuple[PoolShare, ...]]

    @property
    def net_cents(self) -> int:
        """The month's net total over every statement."""
        return sum(statement.net_cents for statement in self.statements)


class _MemberMonth:
    """One member's days, plans and allowances in the month."""

    def __init__(self, account: MemberAccount, inputs: MonthInputs, window: MonthWindow) -> None:
        self.account = account
        month = inputs.month
        if account.joined_at is None:
            self.days = 0
        else:
            left = window.days_from(account.left_at) if account.left_at is not None else 0
            self.days = max(window.days_from(account.joined_at) - left, 0)
        first_active = month.days - (
            window.days_from(account.joined_at) if account.joined_at is not None else 0
        )
        self.plan_by_day: list[str | None] = [None] * month.days
        periods = sorted(
            (p for p in inputs.plan_periods if p.member == account.id), key=lambda p: p.valid_from
        )
        for index in range(first_active, first_active + self.days):
            day = date.fromordinal(month.first_day.toordinal() + index)
            plan: str | None = None
            for period in periods:
                if period.valid_from <= day:
                    plan = period.plan
            self.plan_by_day[index] = plan if plan in inputs.plans else None
        self.fees: list[PlanFee] = []
        uses: list[AllowanceUse] = []
        for name in sorted({p for p in self.plan_by_day if p is not None}):
            plan_days = self.plan_by_day.count(name)
            definition = inputs.plans[name]
            cents = round_half_up(definition.monthly_fee_cents * plan_days, month.days)
            self.fees.append(PlanFee(name, plan_days, month.days, cents, definition.vat_bp))
            for allowance in definition.allowances:
                # Quantities, not money: floored, so a part month never grants more than its days.
                granted = allowance.quantity * plan_days // month.days
                uses.append(AllowanceUse(name, allowance, granted))
        self.balance = AllowanceBalance(uses)
        self.packs = PackBalance(())
        self.pack_sales: list[PackSale] = []
        self.charges: list[SessionCharge] = []


def bill_month(
    inputs: MonthInputs,
    *,
    progress: Progress = _no_progress,
    on_stuck_pool: StuckPool | None = None,
) -> MonthStatements:
    """Every member's statements for the month, one per billing party with something on it.

    A pool with nothing to split by raises UnallocatablePoolError, unless `on_stuck_pool` is
    given: then it is told and the pool left out (a projection, early in a month, has that).
    """
    with collector_paused():
        return _bill_month(inputs, progress, on_stuck_pool)


def _bill_month(
    inputs: MonthInputs, progress: Progress, on_stuck_pool: StuckPool | None
) -> MonthStatements:
    window = MonthWindow(inputs.month, inputs.tz)
    members: dict[str, _MemberMonth] = {}

    def member_month(member: str) -> _MemberMonth:
        found = members.get(member)
        if found is None:
            account = inputs.members.get(member) or MemberAccount(id=member, name=member)
            found = members[member] = _MemberMonth(account, inputs, window)
        return found

    for account in inputs.members.values():
        member_month(account.id)
    held_packs: defaultdict[str, list[PackHolding]] = defaultdict(list)
    for pack in inputs.packs:
        held_packs[pack.member].append(pack)
    for member_id, packs in held_packs.items():
        member_month(member_id).packs = PackBalance(packs)
    for sale in inputs.pack_sales:
        member_month(sale.member).pack_sales.append(sale)

    # Member by member, each one's sessions in the order they started: allowances are drawn in
    # that order. Sorting each member's few hundred apart is cheaper than one sort of them all.
    by_member: defaultdict[str, list[UsageSession]] = defaultdict(list)
    for session in inputs.sessions:
        by_member[session.member].append(session)
    charge = _Charger(window, inputs.tariffs)
    usage: dict[tuple[str, str, str], list[int]] = {}
    pending = 0
    for member_id in sorted(by_member):
        sessions = by_member[member_id]
        sessions.sort(key=_STARTED)
        if len(set(map(_STARTED, sessions))) < len(sessions):
            sessions.sort(key=_START_ORDER)  # two started in the same ms: the id decides
        by_machine: dict[tuple[str, str], list[int]] = {}
        charge(member_month(member_id), sessions, by_machine)
        for (site, machine), counted in by_machine.items():
            usage[(member_id, site, machine)] = counted
        pending += len(sessions)
        if pending >= PROGRESS_EVERY:
            progress(pending)
            pending = 0
    progress(pending)

    quantities = _KeyQuantities(members, usage, inputs.weights)
    pool_shares: dict[str, tuple[PoolShare, ...]] = {}
    by_pool_member: defaultdict[str, list[PoolShare]] = defaultdict(list)
    for pool in inputs.pools:
        try:
            shares = tuple(split_pool(pool, quantities.of))
        except UnallocatablePoolError as err:
            if on_stuck_pool is None:
                raise
            on_stuck_pool(pool, err)
            continue
        pool_shares[pool.name] = shares
        for share in shares:
            by_pool_member[share.member].append(share)

    takes: defaultdict[str, list[ConsumableTake]] = defaultdict(list)
    for take in inputs.takes:
        member_month(take.member)
        takes[take.member].append(take)
    booked = _booking_charges(inputs, member_month)
    statements: list[MemberStatement] = []
    for member_id in sorted(members):
        statements.extend(
            _party_statements(
                inputs.month,
                members[member_id],
                by_pool_member,
                tuple(takes.get(member_id, ())),
                tuple(booked.get(member_id, ())),
            )
        )
    log.info("billed %s: %d statements", inputs.month, len(statements))
    return MonthStatements(inputs.month, tuple(statements), pool_shares)


def _booking_charges(
    inputs: MonthInputs, member_month: Callable[[str], _MemberMonth]
) -> dict[str, list[BookingCharge]]:
    """Each member's bookings of the month priced by the tariff of her plan on their day."""
    first = inputs.month.first_day
    charges: defaultdict[str, list[BookingCharge]] = defaultdict(list)
    for booking in sorted(inputs.bookings, key=lambda b: (b.starts_at, b.id)):
        index = (booking.day - first).days
        if not 0 <= index < inputs.month.days:
            continue  # not of this month: the reader keeps to it, a caller might not
        held = member_month(booking.member)
        plan = held.plan_by_day[index]
        tariff = inputs.tariffs.price_on(
            site=booking.site, machine=booking.machine, plan=plan, day=booking.day
        )
        charge = booking_charge(booking, tariff)
        if charge is not None:
            charges[booking.member].append(charge)
    return charges


def _party_statements(
    month: Month,
    held: _MemberMonth,
    by_pool_member: Mapping[str, list[PoolShare]],
    takes: tuple[ConsumableTake, ...] = (),
    bookings: tuple[BookingCharge, ...] = (),
) -> list[MemberStatement]:
    """A member's statements, one per party: the sessions follow their cards' parties, the
    consumables the party each take names.

    Her plan fees, allowances, pool shares, bookings and the takes naming no party go to her
    default party's statement; a party with no session and no such line gets none.
    """
    account = held.account
    default = account.default_party
    by_party: dict[int | None, list[SessionCharge]] = {}
    for charge in held.charges:
        party = charge.piece.session.party
        by_party.setdefault(default if party is None else party, []).append(charge)
    taken: dict[int | None, list[ConsumableTake]] = {}
    for take in sorted(takes, key=lambda take: (take.day, take.id)):
        party = default if take.party is None else take.party
        taken.setdefault(party, []).append(take)
        by_party.setdefault(party, [])
    shares = tuple(by_pool_member.get(account.id, ()))
    if held.fees or shares or bookings or held.pack_sales:
        by_party.setdefault(default, [])
    names = {pack.id: pack.name for pack in held.packs.packs}
    return [
        MemberStatement(
            month,
            account,
            tuple(by_party[party]),
            tuple(held.fees) if party == default else (),
            tuple(held.balance.uses) if party == default else (),
            shares if party == default else (),
            party,
            tuple(taken.get(party, ())),
            bookings if party == default else (),
            tuple(held.pack_sales) if party == default else (),
            names,
        )
        for party in sorted(by_party, key=lambda party: (party != default, party or 0))
    ]


class _Charger:
    """Prices a member's sessions of the month, piece by piece, in the order they started."""

    def __init__(self, window: MonthWindow, tariffs: TariffBook) -> None:
        self._start_ms = window.day_starts_ms[0]
        self._end_ms = window.end_ms
        # When each day of the month ends: the next one's start, and the month's end.
        self._day_ends = (*window.day_starts_ms[1:], window.end_ms)
        first = window.month.first_day
        self._days = [first + timedelta(days=n) for n in range(window.month.days)]
        self._tariffs = tariffs
        # The price lists of one plan on one day, by site and machine, looked up once each.
        self._found: dict[tuple[str | None, int], dict[tuple[str, str], PriceList]] = {}
        self._lists: dict[int, PriceList] = {}

    def __call__(
        self,
        held: _MemberMonth,
        sessions: Sequence[UsageSession],
        usage: dict[tuple[str, str], list[int]],
    ) -> None:
        """Append the charges of one member's sessions, sorted by start, and count their usage."""
        start_ms, end_ms, day_ends = self._start_ms, self._end_ms, self._day_ends
        plan_by_day, balance, charges = held.plan_by_day, held.balance, held.charges
        packs = held.packs
        walks_allowances = bool(balance.uses) or bool(packs)
        day = -1
        day_end = start_ms  # before the first day: the first piece moves to its day
        for session in sessions:
            piece: Piece | None
            if start_ms <= session.started_ms < end_ms and session.ended_ms <= end_ms:
                piece = session  # wholly inside the month: its own only piece
            else:
                piece = piece_in(session, start_ms, end_ms)
                if piece is None:
                    continue
            if piece.started_ms >= day_end:
                # Pieces come in the order they start: the local day only moves forward.
                while piece.started_ms >= day_end and day < len(day_ends) - 1:
                    day += 1
                    day_end = day_ends[day]
                today, plan = self._days[day], plan_by_day[day]
                prices_today = self._prices_on(plan, day)
            where = (session.site, session.machine)
            prices = prices_today.get(where)
            if prices is None:
                prices = prices_today[where] = self._price_list(where, plan, today)
            if walks_allowances:
                charges.append(
                    charge_piece(
                        piece, day=today, plan=plan, prices=prices, balance=balance, packs=packs
                    )
                )
            else:
                charges.append(prices.charge(piece, today, plan))
            counted = usage.get(where)
            if counted is None:
                counted = usage[where] = [0, 0]
            counted[0] += piece.running_ms
            counted[1] += piece.energy_mwh

    def _prices_on(self, plan: str | None, day: int) -> dict[tuple[str, str], PriceList]:
        return self._found.setdefault((plan, day), {})

    def _price_list(self, where: tuple[str, str], plan: str | None, day: date) -> PriceList:
        site, machine = where
        tariff = self._tariffs.price_on(site=site, machine=machine, plan=plan, day=day)
        # One price list per tariff row, shared by every day and plan it prices.
        return self._lists.setdefault(id(tariff), PriceList.of(tariff))


class _KeyQuantities:
    """Each member's quantity of each allocation key this month."""

    def __init__(
        self,
        members: Mapping[str, _MemberMonth],
        usage: Mapping[tuple[str, str, str], list[int]],
        weights: Mapping[str, Mapping[str, int]],
    ) -> None:
        self._members = members
        self._usage = usage
        self._weights = weights

    def of(
        self, key: AllocationKey, machines: tuple[tuple[str, str], ...], weight_set: str | None
    ) -> dict[str, int]:
        """Quantities of one key (on some machines, or from one weight set), by member."""
        if key is AllocationKey.KWH or key is AllocationKey.RUNNING_HOURS:
            column = 1 if key is AllocationKey.KWH else 0
            wanted = set(machines)
            counted: defaultdict[str, int] = defaultdict(int)
            for (member, site, machine), sums in self._usage.items():
                if not wanted or (site, machine) in wanted:
                    counted[member] += sums[column]
            return dict(counted)
        active = {member: held.days for member, held in self._members.items() if held.days > 0}
        if key is AllocationKey.EQUAL:
            return dict.fromkeys(active, 1)
        if key is AllocationKey.MEMBER_DAYS:
            return active
        weights = self._weights.get(weight_set or "", {})
        return {member: weights.get(member, 0) for member in active}
