"""Field types every resource shares: ids, card hashes, days, months and instants in range."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime, StringConstraints

from contract import Id as Id  # the contract's id, re-exported for the schemas

CardHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Label = Annotated[str, StringConstraints(max_length=200)]
Email = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^@\s]{1,64}@[^@\s]{1,135}$")]

# The years a workshop's dates may name: wide enough for any real booking, narrow enough that
# the day before or after, a month's bounds or a shift to UTC never leave what Python and the
# ledger can hold (year 1 and year 9999 did, and answered 500).
FIRST_YEAR = 1970
LAST_YEAR = 2199
# The ledger's ids are SQL INTEGER columns (32 bits on PostgreSQL): a larger id names no row.
MAX_ROW_ID = 2**31 - 1


def _day_in_range(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _instant_in_range(value: datetime) -> datetime:
    # Checked on both sides of the shift to UTC, which is how the ledger stores it.
    if not FIRST_YEAR <= value.year <= LAST_YEAR or not (
        FIRST_YEAR <= value.astimezone(UTC).year <= LAST_YEAR
    ):
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def _month_in_range(value: str) -> str:
    matched = _MONTH.fullmatch(value)
    if matched is None:
        raise ValueError("a month is written YYYY-MM, with MM from 01 to 12")
    if not FIRST_YEAR <= int(matched.group(1)) <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


Day = Annotated[date, AfterValidator(_day_in_range)]
Instant = Annotated[AwareDatetime, AfterValidator(_instant_in_range)]
MonthText = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}$"), AfterValidator(_month_in_range)
]
RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]
