"""Machine bookings: the rules checked in one place, and conflicts refused with the reason.

Every booking of a machine first writes its rules row (`changed_at`): on PostgreSQL that takes
the row's lock, on SQLite the database's write lock, so two members booking the same slot at the
same instant are served one after the other, and the second finds the first's slot taken.
A booking made or released announces itself on the webhook outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, column, func, select, table, update
from sqlalchemy.orm import Session

from services.ledger.errors import LedgerError, RegistryError
from services.ledger.models import (
    BadgeEventRow,
    BookingRow,
    BookingRulesRow,
    MachineRow,
    MemberRow,
    QualificationRow,
)
from services.ledger.opening import OpeningHours
from services.ledger.outbox import EventType, OutboxEvent, announce
from services.ledger.store import LedgerStore, utc_now

# Billing's table of members' plans, read by name: the ledger does not import billing.
_MEMBER_PLANS = table("member_plans", column("member"), column("valid_from"), column("plan"))


class BookingStatus(StrEnum):
    """Where a booking stands."""

    MADE = "made"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    USED = "used"


class Refusal(StrEnum):
    """Why a booking (or its cancellation) was refused."""

    NOT_BOOKABLE = "not_bookable"
    SLOT = "slot"
    PAST = "past"
    TOO_FAR = "too_far"
    CLOSED = "closed"
    OVERLAP = "overlap"
    TOO_MANY = "too_many"
    NOT_QUALIFIED = "not_qualified"
    PLAN = "plan"
    NOTICE = "notice"
    NOT_OPEN = "not_open"


class BookingRefusedError(LedgerError):
    """A booking the rules do not allow: the reason, and a sentence saying why."""

    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class BookingNotFoundError(LedgerError):
    """No booking has that id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingRules:
    """One machine's booking rules, as stored; `hours` parsed."""

    site: str
    machine: str
    slot_minutes: int = 60
    horizon_days: int = 14
    max_open: int = 3
    grace_minutes: int = 15
    notice_minutes: int = 60
    warn_before_minutes: int = 10
    qualified_only: bool = True
    plans: tuple[str, ...] = ()
    hours_text: str = ""
    closures_text: str = ""

    @classmethod
    def from_row(cls, row: BookingRulesRow) -> BookingRules:
        """The rules of a stored row."""
        return cls(
            site=row.site,
            machine=row.machine,
            slot_minutes=row.slot_minutes,
            horizon_days=row.horizon_days,
            max_open=row.max_open,
            grace_minutes=row.grace_minutes,
            notice_minutes=row.notice_minutes,
            warn_before_minutes=row.warn_before_minutes,
            qualified_only=row.qualified_only,
            plans=tuple(row.plans.split()),
            hours_text=row.hours,
            closures_text=row.closures,
        )

    @property
    def hours(self) -> OpeningHours:
        """The opening hours and closures, parsed."""
        return OpeningHours.parse(self.hours_text, self.closures_text)

    def check_time(self, start: datetime, end: datetime, now: datetime, zone: ZoneInfo) -> None:
        """Refuse a span off the slot grid, in the past, too far ahead, or outside the hours."""
        slot = timedelta(minutes=self.slot_minutes)
        local = start.astimezone(zone)
        since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
        if end <= start or since_midnight % slot or (end - start) % slot:
            raise BookingRefusedError(
                Refusal.SLOT, f"a booking is whole slots of {self.slot_minutes} minutes"
            )
        if start < now:
            raise BookingRefusedError(Refusal.PAST, "the slot has begun already")
        if start > now + timedelta(days=self.horizon_days):
            raise BookingRefusedError(Refusal.TOO_FAR, f"at most {self.horizon_days} days ahead")
        if not self.hours.covers(start, end, zone):
            raise BookingRefusedError(Refusal.CLOSED, "the workshop is closed then")

    def slots(self, day: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
        """A local day's slots (UTC) within the opening hours."""
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        end = end.astimezone(UTC)
        slot = timedelta(minutes=self.slot_minutes)
        out: list[tuple[datetime, datetime]] = []
        for lo, hi in self.hours.windows(start, end, zone):
            at = start + -(-(lo - start) // slot) * slot
            while at + slot <= hi:
                out.append((at, at + slot))
                at += slot
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Booking:
    """A booked slot, as the pages, the api and the gateways see it."""

    id: int
    site: str
    machine: str
    member: str
    starts_at: datetime
    ends_at: datetime
    status: BookingStatus
    created_by: str
    created_at: datetime
    released_at: datetime | None

    @classmethod
    def from_row(cls, row: BookingRow) -> Booking:
        """The booking of a stored row."""
        return cls(
            id=row.id,
            site=row.site,
            machine=row.machine,
            member=row.member,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=BookingStatus(row.status),
            created_by=row.created_by,
            created_at=row.created_at,
            released_at=row.released_at,
        )


def _event(kind: EventType, booking: BookingRow, **more: object) -> OutboxEvent:
    data: dict[str, object] = {
        "booking": booking.id,
        "site": booking.site,
        "machine": booking.machine,
        "member": booking.member,
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "status": booking.status,
    }
    return OutboxEvent(kind, data | more)


class Reservations(LedgerStore):
    """Books, cancels and lists machine bookings under each machine's rules."""

    def __init__(
        self, engine: Engine, *, zone: ZoneInfo, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(engine, clock=clock)
        self.zone = zone

    # -- rules --------------------------------------------------------------------------------

    def rules(self, site: str, machine: str) -> BookingRules | None:
        """A machine's booking rules; None when it cannot be booked."""
        with self._transaction("read booking rules") as db:
            row = db.get(BookingRulesRow, (site, machine))
            return None if row is None else BookingRules.from_row(row)

    def all_rules(self, site: str) -> list[BookingRules]:
        """The rules of every bookable machine of a site."""
        with self._transaction("read booking rules") as db:
            rows = db.scalars(select(BookingRulesRow).where(BookingRulesRow.site == site))
            return [BookingRules.from_row(row) for row in rows]

    def save_rules(self, rules: BookingRules) -> BookingRules:
        """Make a machine bookable under these rules (or change them); errors name the field."""
        rules.hours  # noqa: B018 -- parsed to refuse bad hours before anything is stored
        for name in ("slot_minutes", "horizon_days", "max_open"):
            if getattr(rules, name) <= 0:
                raise RegistryError(name, "must be at least 1")
        if rules.slot_minutes > 1440:
            raise RegistryError("slot_minutes", "at most a day (1440)")
        for name in ("grace_minutes", "notice_minutes", "warn_before_minutes"):
            if getattr(rules, name) < 0:
                raise RegistryError(name, "must not be negative")
        with self._transaction("save booking rules") as db:
            if db.get(MachineRow, (rules.site, rules.machine)) is None:
                raise RegistryError("machine", f"{rules.machine!r} is not registered")
            row = db.get(BookingRulesRow, (rules.site, rules.machine))
            if row is None:
                row = BookingRulesRow(site=rules.site, machine=rules.machine)
                db.add(row)
            row.slot_minutes = rules.slot_minutes
            row.horizon_days = rules.horizon_days
            row.max_open = rules.max_open
            row.grace_minutes = rules.grace_minutes
            row.notice_minutes = rules.notice_minutes
            row.warn_before_minutes = rules.warn_before_minutes
            row.qualified_only = rules.qualified_only
            row.plans = " ".join(rules.plans)
            row.hours = rules.hours_text
            row.closures = rules.closures_text
            row.changed_at = self._clock()
        return rules

    def drop_rules(self, site: str, machine: str) -> bool:
        """Make a machine unbookable again (its bookings stay on record); False if it was not."""
        with self._transaction("drop booking rules") as db:
            row = db.get(BookingRulesRow, (site, machine))
            if row is None:
                return False
            db.delete(row)
            return True

    # -- bookings -----------------------------------------------------------------------------

    def book(
        self,
        *,
        site: str,
        machine: str,
        member: str,
        starts_at: datetime,
        ends_at: datetime,
        by: str,
    ) -> Booking:
        """Book a slot for a member; BookingRefusedError says why not."""
        now = self._clock()
        with self._transaction(f"book {machine}") as db:
            # A write first: it takes the machine's lock (a row lock on PostgreSQL, the write
            # lock on SQLite) before anything is read, so concurrent bookings queue here.
            locked = db.execute(
                update(BookingRulesRow)
                .where(BookingRulesRow.site == site, BookingRulesRow.machine == machine)
                .values(changed_at=now)
            )
            if getattr(locked, "rowcount", 0) == 0:
                raise BookingRefusedError(Refusal.NOT_BOOKABLE, f"{machine} cannot be booked")
            row = db.get(BookingRulesRow, (site, machine))
            if row is None:
                raise BookingRefusedError(Refusal.NOT_BOOKABLE, f"{machine} cannot be booked")
            rules = BookingRules.from_row(row)
            rules.check_time(starts_at, ends_at, now, self.zone)
            self._check_member(db, rules, member, now)
            clash = db.scalar(
                select(BookingRow.id).where(
                    BookingRow.site == site,
                    BookingRow.machine == machine,
                    BookingRow.status == BookingStatus.MADE,
                    BookingRow.starts_at < ends_at,
                    BookingRow.ends_at > starts_at,
                )
            )
            if clash is not None:
                raise BookingRefusedError(Refusal.OVERLAP, "the slot is booked already")
            open_count = db.scalar(
                select(func.count())
                .select_from(BookingRow)
                .where(
                    BookingRow.member == member,
                    BookingRow.site == site,
                    BookingRow.status == BookingStatus.MADE,
                    BookingRow.ends_at > now,
                )
            )
            if (open_count or 0) >= rules.max_open:
                raise BookingRefusedError(
                    Refusal.TOO_MANY, f"at most {rules.max_open} open bookings per member"
                )
            booking = BookingRow(
                site=site,
                machine=machine,
                member=member,
                starts_at=starts_at,
                ends_at=ends_at,
                status=BookingStatus.MADE.value,
                created_by=by,
                created_at=now,
            )
            db.add(booking)
            db.flush()
            announce(db, [_event(EventType.BOOKING_MADE, booking, by=by)], now)
            return Booking.from_row(booking)

    def _check_member(self, db: Session, rules: BookingRules, member: str, now: datetime) -> None:
        known = db.get(MemberRow, member)
        if known is None or known.erased_at is not None:
            raise RegistryError("member", f"{member!r} is not registered")
        if rules.qualified_only:
            qualification = db.get(QualificationRow, (member, rules.site, rules.machine))
            if qualification is None or (
                qualification.valid_until is not None and qualification.valid_until <= now
            ):
                raise BookingRefusedError(
                    Refusal.NOT_QUALIFIED, f"{member} is not qualified on {rules.machine}"
                )
        if rules.plans:
            plan = db.scalar(
                select(_MEMBER_PLANS.c.plan)
                .where(
                    _MEMBER_PLANS.c.member == member,
                    _MEMBER_PLANS.c.valid_from <= now.astimezone(self.zone).date(),
                )
                .order_by(_MEMBER_PLANS.c.valid_from.desc())
                .limit(1)
            )
            if plan not in rules.plans:
                raise BookingRefusedError(
                    Refusal.PLAN, f"only members of {', '.join(rules.plans)} may book"
                )

    def cancel(self, booking_id: int, *, by: str, staff: bool) -> Booking:
        """Cancel a booking; a member must give the machine's notice, staff need not."""
        now = self._clock()
        with self._transaction(f"cancel booking {booking_id}") as db:
            row = db.get(BookingRow, booking_id, with_for_update=True)
            if row is None:
                raise BookingNotFoundError(f"no booking {booking_id}")
            if row.status != BookingStatus.MADE:
                raise BookingRefusedError(Refusal.NOT_OPEN, f"the booking is {row.status} already")
            rules = db.get(BookingRulesRow, (row.site, row.machine))
            notice = timedelta(minutes=rules.notice_minutes if rules else 0)
            if not staff and row.starts_at - now < notice:
                raise BookingRefusedError(
                    Refusal.NOTICE,
                    f"cancel at least {int(notice.total_seconds() // 60)} minutes before",
                )
            row.status = BookingStatus.CANCELLED.value
            row.released_at = now
            announce(db, [_event(EventType.BOOKING_RELEASED, row, by=by)], now)
            return Booking.from_row(row)

    def settle(self) -> list[Booking]:
        """Mark bookings past their grace: used if the booker badged in, else a no-show."""
        now = self._clock()
        settled: list[Booking] = []
        with self._transaction("settle bookings") as db:
            rules = {
                (r.site, r.machine): timedelta(minutes=r.grace_minutes)
                for r in db.scalars(select(BookingRulesRow))
            }
            due = db.scalars(
                select(BookingRow)
                .where(BookingRow.status == BookingStatus.MADE, BookingRow.starts_at < now)
                .with_for_update()
            ).all()
            events: list[OutboxEvent] = []
            for row in due:
                grace = rules.get((row.site, row.machine), timedelta(0))
                if row.starts_at + grace > now:
                    continue
                badged = db.scalar(
                    select(BadgeEventRow.id).where(
                        BadgeEventRow.site == row.site,
                        BadgeEventRow.machine == row.machine,
                        BadgeEventRow.member == row.member,
                        BadgeEventRow.decision == "granted",
                        BadgeEventRow.at >= row.starts_at - grace,
                        BadgeEventRow.at < row.starts_at + grace,
                    )
                )
                if badged is not None:
                    row.status = BookingStatus.USED.value
                else:
                    row.status = BookingStatus.NO_SHOW.value
                    row.released_at = now
                    events.append(_event(EventType.BOOKING_RELEASED, row, by="no_show"))
                settled.append(Booking.from_row(row))
            announce(db, events, now)
        return settled

    def get(self, booking_id: int) -> Booking:
        """One booking; BookingNotFoundError if there is none."""
        with self._transaction("read a booking") as db:
            row = db.get(BookingRow, booking_id)
            if row is None:
                raise BookingNotFoundError(f"no booking {booking_id}")
            return Booking.from_row(row)

    def between(
        self,
        *,
        site: str,
        start: datetime,
        end: datetime,
        machine: str | None = None,
        member: str | None = None,
        statuses: Sequence[BookingStatus] = (BookingStatus.MADE,),
    ) -> list[Booking]:
        """Bookings of a site overlapping [start, end), of one machine or member, by start."""
        query = select(BookingRow).where(
            BookingRow.site == site,
            BookingRow.starts_at < end,
            BookingRow.ends_at > start,
            BookingRow.status.in_([s.value for s in statuses]),
        )
        if machine is not None:
            query = query.where(BookingRow.machine == machine)
        if member is not None:
            query = query.where(BookingRow.member == member)
        with self._transaction("read bookings") as db:
            rows = db.scalars(query.order_by(BookingRow.starts_at, BookingRow.id))
            return [Booking.from_row(row) for row in rows]
