"""The month's statements, computed from rows alone: no database, no clock, no formatting.

`bill_month` takes what the ledger holds for a month (sessions, members, plans, tariffs, pools)
and returns one statement per member who owes anything: direct charges for each session piece,
plan fees for the days on each plan, and shares of every cost pool.
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
from services.billing.charges import (
    AllowanceBalance,
    AllowanceUse,
    PriceList,
    SessionCharge,
    charge_piece,
)
from services.billing.gc_pause import collector_paused
from services.billing.money import round_half_up, vat_cents
from services.billing.months import Month, MonthWindow
from services.billing.tariffs import Plan, PlanPeriod, TariffBook
from services.billing.usage import SessionPiece, UsageSession, piece_in, whole_piece

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


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
    """One member's month: every line and the totals, all in cents."""

    month: Month
    member: MemberAccount
    charges: tuple[SessionCharge, ...]
    fees: tuple[PlanFee, ...]
    allowances: tuple[AllowanceUse, ...]
    shares: tuple[PoolShare, ...]

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
    def net_cents(self) -> int:
        """Everything before VAT."""
        return self.direct_cents + self.pool_cents + self.fee_cents

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
    """All of a month's statements, by member id, and every pool's shares."""

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
        self.charges: list[SessionCharge] = []


def bill_month(inputs: MonthInputs, *, progress: Progress = _no_progress) -> MonthStatements:
    """Every member's statement for the month; raises UnallocatablePoolError for a stuck pool."""
    with collector_paused():
        return _bill_month(inputs, progress)


def _bill_month(inputs: MonthInputs, progress: Progress) -> MonthStatements:
    window = MonthWindow(inputs.month, inputs.tz)
    start_ms, end_ms = window.day_starts_ms[0], window.end_ms
    first = inputs.month.first_day
    days = [first + timedelta(days=n) for n in range(inputs.month.days)]
    members: dict[str, _MemberMonth] = {}

    def member_month(member: str) -> _MemberMonth:
        found = members.get(member)
        if found is None:
            account = inputs.members.get(member) or MemberAccount(id=member, name=member)
            found = members[member] = _MemberMonth(account, inputs, window)
        return found

    for account in inputs.members.values():
        member_month(account.id)

    price_of = _PriceFinder(inputs.tariffs)
    usage: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    ordered = sorted(inputs.sessions, key=attrgetter("member", "started_ms", "id"))
    for done, session in enumerate(ordered, start=1):
        if start_ms <= session.started_ms < end_ms and session.ended_ms <= end_ms:
            piece: SessionPiece | None = whole_piece(session)
        else:
            piece = piece_in(session, start_ms, end_ms)
        if piece is not None:
            held = member_month(session.member)
            index = window.day_index(piece.started_ms)
            plan = held.plan_by_day[index]
            prices = price_of(session.site, session.machine, plan, days[index])
            held.charges.append(
                charge_piece(piece, day=days[index], plan=plan, prices=prices, balance=held.balance)
            )
            counted = usage[(session.member, session.site, session.machine)]
            counted[0] += piece.running_ms
            counted[1] += piece.energy_mwh
        if done % 10_000 == 0:
            progress(10_000)
    progress(len(ordered) % 10_000)

    quantities = _KeyQuantities(members, usage, inputs.weights)
    pool_shares: dict[str, tuple[PoolShare, ...]] = {}
    by_member: defaultdict[str, list[PoolShare]] = defaultdict(list)
    for pool in inputs.pools:
        shares = tuple(split_pool(pool, quantities.of))
        pool_shares[pool.name] = shares
        for share in shares:
            by_member[share.member].append(share)

    statements = []
    for member_id in sorted(members):
        held = members[member_id]
        if not (held.charges or held.fees or by_member.get(member_id)):
            continue
        statements.append(
            MemberStatement(
                inputs.month,
                held.account,
                tuple(held.charges),
                tuple(held.fees),
                tuple(held.balance.uses),
                tuple(by_member.get(member_id, ())),
            )
        )
    log.info("billed %s: %d statements", inputs.month, len(statements))
    return MonthStatements(inputs.month, tuple(statements), pool_shares)


class _PriceFinder:
    """The price list of a session's machine, plan and day, looked up once per combination."""

    def __init__(self, tariffs: TariffBook) -> None:
        self._tariffs = tariffs
        self._found: dict[tuple[str, str, str | None, date], PriceList] = {}
        self._lists: dict[int, PriceList] = {}

    def __call__(self, site: str, machine: str, plan: str | None, day: date) -> PriceList:
        key = (site, machine, plan, day)
        found = self._found.get(key)
        if found is None:
            tariff = self._tariffs.price_on(site=site, machine=machine, plan=plan, day=day)
            # One price list per tariff row, shared by every day and plan it prices.
            found = self._lists.setdefault(id(tariff), PriceList.of(tariff))
            self._found[key] = found
        return found


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
