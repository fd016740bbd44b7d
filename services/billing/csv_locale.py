"""CSV as a spreadsheet in the workshop's language opens it: separator and decimal mark.

An Italian spreadsheet reads `;` between columns and `1234,50` as a number; an English one reads
`,` and `1234.50`. Numbers are written from integers or `Decimal` only (never a float), so
an amount of cents comes back to the same cents whichever language wrote it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal


@dataclass(frozen=True, slots=True)
class CsvLocale:
    """How one language writes a CSV: what separates columns and what separates decimals."""

    separator: str
    decimal_mark: str

    def number(self, value: Decimal | int, places: int) -> str:
        """A number with `places` decimals (rounded half to even), in this language's mark."""
        step = Decimal(1).scaleb(-places)
        return f"{Decimal(value).quantize(step, rounding=ROUND_HALF_EVEN):f}".replace(
            ".", self.decimal_mark
        )

    def cents(self, cents: int) -> str:
        """An amount of cents in currency units, exactly: 123456 is `1234,56` or `1234.56`."""
        return self.number(Decimal(cents).scaleb(-2), 2)

    def ratio(self, value: int | float | None, per: int, places: int) -> str:
        """`value / per` with `places` decimals (empty when there is no value)."""
        if value is None:
            return ""
        return self.number(Decimal(str(value)) / per, places)

    def table(self, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
        """The whole CSV text: a header and the rows, one line each."""
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.separator, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()


CSV_LOCALES: dict[str, CsvLocale] = {
    "it": CsvLocale(separator=";", decimal_mark=","),
    "en": CsvLocale(separator=",", decimal_mark="."),
}


def csv_locale(locale: str) -> CsvLocale:
    """The CSV style of a language (`it`, `en`, or a region of one, such as `en_GB`)."""
    language = locale.replace("-", "_").split("_")[0].lower()
    try:
        return CSV_LOCALES[language]
    except KeyError:
        known = ", ".join(sorted(CSV_LOCALES))
        raise ValueError(f"locale: {locale!r} is not one of {known}") from None
