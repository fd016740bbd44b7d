"""Amounts, quantities, days and months as a member reads them, with Babel's formats.

A statement prints thousands of numbers, and Babel parses its pattern on every call; so each
locale's symbols and currency layout are read from Babel once (by formatting a sample) and
applied with plain string formatting. The output is Babel's: the tests compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency, format_percent, get_decimal_symbol, get_group_symbol

from services.billing.months import Month
from services.billing.wording import babel_locale

_SAMPLE = Decimal("1234.50")
_SAMPLE_TEXT = "1,234.50"


@dataclass(frozen=True, slots=True)
class _NumberStyle:
    """A locale's decimal and group symbols, and where its currency goes around a number."""

    decimal: str
    group: str
    positive: str  # "{} €" or "€{}"
    negative: str

    def number(self, value: Decimal | int, places: int) -> str:
        return _swap(f"{value:,.{places}f}", self.group, self.decimal)


def _swap(text: str, group: str, decimal: str) -> str:
    """Python's `1,234.5` in a locale's symbols."""
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


@lru_cache(maxsize=32)
def _style(language: str, currency: str) -> _NumberStyle:
    locale = babel_locale(language)
    decimal, group = get_decimal_symbol(locale), get_group_symbol(locale)
    sample = _swap(_SAMPLE_TEXT, group, decimal)
    positive = format_currency(_SAMPLE, currency, locale=locale).replace(sample, "{}", 1)
    negative = format_currency(-_SAMPLE, currency, locale=locale).replace(sample, "{}", 1)
    if "{}" not in positive or "{}" not in negative:
        raise ValueError(f"cannot read Babel's currency layout for {locale} {currency}")
    return _NumberStyle(decimal, group, positive, negative)


def money(cents: int, currency: str, language: str) -> str:
    """`1.234,50 €` in Italian, `€1,234.50` in English (as Babel's format_currency writes)."""
    style = _style(language, currency)
    whole, part = divmod(abs(cents), 100)
    text = style.number(whole, 0) + style.decimal + f"{part:02d}"
    return (style.negative if cents < 0 else style.positive).format(text)


def quantity(base: int, base_per_unit: int, language: str, *, places: int = 1) -> str:
    """A quantity kept in base units, shown in display units (`12,5`), rounded half up."""
    exact = Decimal(base) / Decimal(base_per_unit)
    value = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return _style(language, "EUR").number(value, places)


def rate(vat_bp: int, language: str) -> str:
    """A VAT rate, `22%`."""
    return format_percent(
        Decimal(vat_bp) / 10_000, format="#,##0.##%", locale=babel_locale(language)
    )


def day(value: date, language: str) -> str:
    """A day in the short local form: `31/10/26`."""
    return format_date(value, format="short", locale=babel_locale(language))


def long_day(value: date, language: str) -> str:
    """A day written out: `31 ottobre 2026`."""
    return format_date(value, format="long", locale=babel_locale(language))


def moment(value: datetime, tz: ZoneInfo) -> str:
    """`25/10 02:30 CET`: local day and time with the zone's abbreviation, to tell DST apart.

    All numeric, the same in Italian and English; Babel's `dd/MM HH:mm zzz` writes the same.
    """
    return value.astimezone(tz).strftime("%d/%m %H:%M %Z")


def month_name(month: Month, language: str) -> str:
    """`ottobre 2026`, `October 2026`."""
    return format_date(month.first_day, format="LLLL yyyy", locale=babel_locale(language))
