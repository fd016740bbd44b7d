"""The accountant's CSV in the workshop's language: `;` and commas in Italian, `,` and points
in English, kWh with its unit, times in the site's zone, and never a cent lost either way."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.csv_locale import csv_locale
from services.billing.exports import LINE_COLUMNS, REGISTER_COLUMNS, lines_csv, register_csv
from services.billing.records import Line, LineKind, StatementKind, StatementStatus, StoredStatement
from tests.billing.examples import ROME

ISSUED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
STARTED = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 in Rome, the night summer time ends


NAME = 'Anna; Rossi, "la tornitrice"'  # both separators and a quote: the CSV must quote them


def _statement(lines: list[Line]) -> StoredStatement:
    return StoredStatement(
        id=1,
        kind=StatementKind.STATEMENT,
        status=StatementStatus.ISSUED,
        member="anna",
        member_name=NAME,
        member_email=None,
        month="2026-10",
        revision=1,
        number="2026/0001",
        credits_number=None,
        reason=None,
        locale="it",
        currency="EUR",
        net_cents=sum(line.net_cents for line in lines),
        vat_cents=0,
        total_cents=sum(line.net_cents for line in lines),
        made_at=ISSUED,
        issued_at=ISSUED,
        emailed_at=None,
        lines=tuple(lines),
    )


def _rows(text: str, locale: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=csv_locale(locale).separator))


def _cents(cell: str, locale: str) -> int:
    mark = csv_locale(locale).decimal_mark
    assert (mark == "," and "." not in cell) or (mark == "." and "," not in cell), cell
    amount = Decimal(cell.replace(mark, "."))
    assert amount == amount.quantize(Decimal("0.01"))
    return int(amount * 100)


SESSION = Line(
    kind=LineKind.SESSION,
    net_cents=123_456,
    vat_bp=2_200,
    machine="lathe-1",
    started=STARTED,
    ended=datetime(2026, 10, 25, 1, 45, tzinfo=UTC),
    running_ms=4_500_000,
    unlocked_ms=4_530_000,
    energy_mwh=2_345_678,
)


def test_italian_csv_uses_semicolons_and_decimal_commas() -> None:
    text = lines_csv([_statement([SESSION])], ROME, "it")
    assert text.splitlines()[0] == ";".join(LINE_COLUMNS)
    [row] = _rows(text, "it")
    assert (row["net"], row["vat_rate_pct"]) == ("1234,56", "22,00")
    assert (row["energy_kwh"], row["running_min"]) == ("2,345678", "75,000")
    assert row["started"] == "2026-10-25T02:30:00+02:00"
    assert row["ended"] == "2026-10-25T02:45:00+01:00"


def test_english_csv_uses_commas_and_decimal_points() -> None:
    text = register_csv([_statement([SESSION])], ROME, "en")
    assert text.splitlines()[0] == ",".join(REGISTER_COLUMNS)
    [row] = _rows(text, "en")
    assert (row["net"], row["vat"], row["total"]) == ("1234.56", "271.60", "1506.16")
    assert row["member_name"] == NAME
    assert row["issued"] == "2026-11-02"


amounts = st.integers(min_value=-(10**11), max_value=10**11)
rates = st.sampled_from([0, 400, 500, 1_000, 2_200])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(amounts, rates), min_size=1, max_size=8))
def test_italian_and_english_csv_parse_back_to_the_same_cents(
    priced: list[tuple[int, int]],
) -> None:
    lines = [Line(kind=LineKind.SESSION, net_cents=net, vat_bp=bp) for net, bp in priced]
    statement = _statement(lines)
    for locale in ("it", "en"):
        line_rows = _rows(lines_csv([statement], ROME, locale), locale)
        assert [_cents(row["net"], locale) for row in line_rows] == [net for net, _ in priced]
        register = _rows(register_csv([statement], ROME, locale), locale)
        expected = [(vat.net_cents, vat.vat_cents) for vat in statement.vat]
        got = [(_cents(row["net"], locale), _cents(row["vat"], locale)) for row in register]
        assert got == expected
        assert [_cents(row["total"], locale) for row in register] == [n + v for n, v in got]
