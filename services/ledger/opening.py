"""Opening hours in a workshop's words (`mon-fri 08:00-20:00; sat 09:00-13:00`) and closures.

Hours are local to the site's zone; `windows` turns them into absolute UTC intervals, so that
whoever enforces them (the api, a gateway) needs no time-zone logic of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.ledger.errors import RegistryError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<opens>\d{2}:\d{2})-(?P<closes>\d{2}:\d{2}|24:00)$"
)


def _clock_time(text: str, field: str) -> time | None:
    """A `HH:MM` time of day; None for `24:00` (the end of the day)."""
    if text == "24:00":
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise RegistryError(field, f"{text!r} is not a time of day (HH:MM)") from None


@dataclass(frozen=True, slots=True)
class DayHours:
    """One weekday's opening: from `opens` until `closes` (None: until midnight)."""

    weekday: int
    opens: time
    closes: time | None


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A machine's weekly hours and closed days; no hours at all means always open."""

    days: tuple[DayHours, ...] = ()
    closures: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, hours: str, closures: str = "") -> OpeningHours:
        """Read hours and closures as a coordinator writes them; RegistryError names the field."""
        days: list[DayHours] = []
        for part in filter(None, (p.strip().lower() for p in hours.split(";"))):
            match = _PART.match(part)
            if match is None or match["first"] not in DAYS:
                raise RegistryError("hours", f"{part!r}: write e.g. 'mon-fri 08:00-20:00'")
            first = DAYS.index(match["first"])
            last = first if match["last"] is None else _day(match["last"])
            opens = _clock_time(match["opens"], "hours")
            closes = _clock_time(match["closes"], "hours")
            if opens is None or (closes is not None and closes <= opens):
                raise RegistryError("hours", f"{part!r}: must close after it opens")
            days += [DayHours(d, opens, closes) for d in range(first, last + 1)]
        shut: set[date] = set()
        for word in closures.split():
            try:
                shut.add(date.fromisoformat(word))
            except ValueError:
                raise RegistryError("closures", f"{word!r} is not a day (YYYY-MM-DD)") from None
        return cls(tuple(days), frozenset(shut))

    @property
    def always_open(self) -> bool:
        """No hours written and no closures: open round the clock."""
        return not self.days and not self.closures

    def windows(
        self, start: datetime, end: datetime, zone: ZoneInfo
    ) -> list[tuple[datetime, datetime]]:
        """The open intervals (UTC) that overlap [start, end), clipped to it, merged."""
        out: list[tuple[datetime, datetime]] = []
        for opens, closes in sorted(self._local_windows(start, end, zone)):
            lo, hi = max(opens, start), min(closes, end)
            if lo >= hi:
                continue
            if out and out[-1][1] >= lo:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        return out

    def covers(self, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
        """Whether [start, end) lies wholly within one open interval."""
        return any(lo <= start and end <= hi for lo, hi in self.windows(start, end, zone))

    def _local_windows(
        self, start: datetime, end: datetime, zone: ZoneInfo
    ) -> Iterator[tuple[datetime, datetime]]:
        day = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date()
        while day <= last:
            if day not in self.closures:
                if not self.days:
                    yield _utc(day, time(0), zone), _utc(day + timedelta(days=1), time(0), zone)
                for hours in self.days:
                    if hours.weekday == day.weekday():
                        closes = (
                            _utc(day + timedelta(days=1), time(0), zone)
                            if hours.closes is None
                            else _utc(day, hours.closes, zone)
                        )
                        yield _utc(day, hours.opens, zone), closes
            day += timedelta(days=1)


def _day(name: str) -> int:
    if name not in DAYS:
        raise RegistryError("hours", f"{name!r} is not a weekday ({', '.join(DAYS)})")
    return DAYS.index(name)


def _utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
