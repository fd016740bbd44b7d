"""Billing months: local calendar months of the workshop's time zone, DST included."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.billing.errors import BillingInputError

DEFAULT_TIMEZONE = "Europe/Rome"
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def zone(name: str) -> ZoneInfo:
    """The time zone of a name like `Europe/Rome`, or a BillingInputError naming `timezone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise BillingInputError("timezone", f"{name!r} is not a known time zone") from err


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month, `2026-10`."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 2000 <= self.year <= 9999:
            raise BillingInputError("month", f"{self.year:04d}-{self.month:02d} is not a month")

    @classmethod
    def parse(cls, text: str) -> Month:
        """The month of `YYYY-MM`, or a BillingInputError naming `month`."""
        found = _MONTH.fullmatch(text.strip())
        if found is None:
            raise BillingInputError("month", f"{text!r} is not YYYY-MM")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        """The month a day is in."""
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        """The month's first day."""
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        """The month after this one."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        """The month before this one."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def days(self) -> int:
        """How many days the month has."""
        return (self.next().first_day - self.first_day).days

    def until(self, last: Month) -> list[Month]:
        """This month and every one after it up to `last`, in order (empty if `last` is before)."""
        months: list[Month] = []
        current = self
        while current <= last:
            months.append(current)
            current = current.next()
        return months


def _epoch_ms(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(milliseconds=1)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day begins (midnight never falls in a DST gap in Europe)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)  # no slots: cached_property keeps the day starts in __dict__
class MonthWindow:
    """A month placed in a time zone: its UTC bounds and the UTC start of each of its days."""

    month: Month
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        """The UTC instant the month begins (local midnight of the 1st)."""
        return self.day_starts[0]

    @property
    def end(self) -> datetime:
        """The UTC instant the month ends (local midnight of the next month's 1st)."""
        return local_midnight(self.month.next().first_day, self.tz)

    @cached_property
    def day_starts(self) -> tuple[datetime, ...]:
        """The UTC instant each local day of the month begins."""
        first = self.month.first_day
        return tuple(
            local_midnight(first + timedelta(days=n), self.tz) for n in range(self.month.days)
        )

    def day_of(self, instant: datetime) -> date:
        """The local day of an instant inside the month."""
        index = bisect_right(self.day_starts, instant) - 1
        return self.month.first_day + timedelta(days=max(index, 0))

    @cached_property
    def day_starts_ms(self) -> tuple[int, ...]:
        """The epoch millisecond each local day of the month begins."""
        return tuple(_epoch_ms(start) for start in self.day_starts)

    @cached_property
    def end_ms(self) -> int:
        """The epoch millisecond the month ends."""
        return _epoch_ms(self.end)

    def day_index(self, ms: int) -> int:
        """Which local day of the month (0 for the 1st) an epoch millisecond falls on."""
        return max(bisect_right(self.day_starts_ms, ms) - 1, 0)

    def days_from(self, instant: datetime) -> int:
        """How many local days of the month remain from an instant's day on (all if before)."""
        if instant < self.start:
            return self.month.days
        if instant >= self.end:
            return 0
        return self.month.days - (self.day_of(instant) - self.month.first_day).days
