"""For any month: each FatturaPA total is its statement's, and the register adds up, to the cent.

Random members, sessions, pools and VAT rates (0 % included, with their Natura) are billed by the
real engine on a SQLite ledger, issued and partly credited; the documents are read back by
python-a38 and the register's CSV by the csv module, in Italian and in English.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal

from a38.fattura import auto_from_etree
from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.allocation import AllocationKey, CostPool
from services.billing.fiscal import month_fiscal_documents
from services.billing.fiscal_lines import NaturaRules, meters_from_tariffs
from services.billing.money import vat_cents
from services.billing.months import Month
from services.billing.records import StatementKind
from services.billing.register import register_csv, register_rows
from services.billing.tariffs import Tariff, TariffBook
from services.fiscal.document import DocumentType, progressivo
from services.fiscal.fatturapa import fattura_xml
from services.fiscal.natura import Natura
from services.fiscal.profiles import BillingMode
from services.fiscal.wording import Locale
from services.ledger import MachineSpec
from tests.billing.conftest import book, join
from tests.billing.examples import LASER, LATHE, ROME, SITE, rome
from tests.billing.test_issue_one import fresh_shop
from tests.fiscal.examples import company, person, workshop

OCTOBER = Month(2026, 10)
RATES = (0, 400, 1000, 2200)
NATURE = (Natura.N1, Natura.N2_2, Natura.N4)

session_st = st.tuples(
    st.sampled_from((LASER, LATHE)),
    st.integers(min_value=1, max_value=300),  # minutes
    st.integers(min_value=0, max_value=100),  # running, in percent of the minutes
    st.integers(min_value=0, max_value=200),  # tenths of a kWh
)
pool_st = st.tuples(
    st.integers(min_value=0, max_value=150_000),  # cents
    st.sampled_from(RATES),
    st.sampled_from(NATURE),
)
# What happens to each issued statement: nothing, a whole credit, or a part at one of its rates.
credit_st = st.sampled_from(("keep", "whole", "part"))


def from_text(text: str) -> int:
    """Cents of decimal text with a point or a comma."""
    return int(Decimal(text.replace(",", ".")) * 100)


@settings(max_examples=12, deadline=None)
@given(
    sessions=st.lists(st.lists(session_st, max_size=3), min_size=1, max_size=3),
    pools=st.lists(pool_st, min_size=1, max_size=2),
    laser=st.tuples(st.integers(min_value=1, max_value=3_000_000), st.sampled_from(RATES)),
    lathe=st.tuples(st.integers(min_value=1, max_value=900_000), st.sampled_from(RATES)),
    data=st.data(),
)
def test_documents_statements_and_register_agree_to_the_cent(
    sessions: list[list[tuple[str, int, int, int]]],
    pools: list[tuple[int, int, Natura]],
    laser: tuple[int, int],
    lathe: tuple[int, int],
    data: st.DataObject,
) -> None:
    rules = NaturaRules(by_pool={f"pool-{n}": natura for n, (_, _, natura) in enumerate(pools)})
    with fresh_shop() as shop:
        ledger = shop.billing.ledger
        for machine in (LASER, LATHE):
            shop.registry.save_machine(
                MachineSpec(site=SITE, id=machine, name=machine.title(), gateway="gw-1")
            )
        ledger.add_tariff(
            Tariff(
                valid_from=date(2026, 1, 1),
                site=SITE,
                machine=LASER,
                per_running_minute=laser[0],
                vat_bp=laser[1],
            )
        )
        ledger.add_tariff(
            Tariff(
                valid_from=date(2026, 1, 1),
                site=SITE,
                machine=LATHE,
                per_kwh=lathe[0],
                vat_bp=lathe[1],
            )
        )
        for n, used in enumerate(sessions):
            member = f"m{n}"
            join(shop, member)
            for day, (machine, minutes, running, tenths) in enumerate(used, start=1):
                book(
                    shop,
                    member,
                    rome(2026, 10, day + 3 * n, 10),
                    minutes=minutes,
                    running_minutes=minutes * running / 100,
                    kwh=min(tenths, minutes * 10) / 10,  # at most 60 kW
                    machine=machine,
                )
        for n, (total, rate, _) in enumerate(pools):
            ledger.add_pool(
                OCTOBER,
                CostPool(name=f"pool-{n}", total_cents=total, key=AllocationKey.EQUAL, vat_bp=rate),
            )
        shop.billing.make_drafts(OCTOBER)
        shop.billing.issue(OCTOBER)
        statements = ledger.statements(OCTOBER)
        shop.clock.now = datetime(2026, 11, 20, 9, 0, tzinfo=ROME)
        credited: dict[str, int] = {}  # credit note number → what it takes back, VAT included
        for statement in statements:
            choice = data.draw(credit_st)
            assert statement.number is not None
            if choice == "keep" or statement.net_cents == 0:
                continue
            if choice == "whole":
                note = shop.billing.credit(statement.number, reason="storno")
                expected = statement.total_cents
            else:
                part = data.draw(st.sampled_from([v for v in statement.vat if v.net_cents > 0]))
                amount = data.draw(st.integers(min_value=1, max_value=part.net_cents))
                note = shop.billing.credit(
                    statement.number, reason="sconto", net_cents=amount, vat_bp=part.vat_bp
                )
                expected = amount + vat_cents(amount, part.vat_bp)
            assert note.number is not None
            credited[note.number] = expected
        everything = ledger.statements(OCTOBER)
        book_of_tariffs = TariffBook.of(ledger.tariffs())
    parties = {f"m{n}": (person() if n % 2 else company()) for n in range(len(sessions))}

    documents = month_fiscal_documents(
        "2026-11",
        everything,
        workshop=workshop(),
        parties=parties,
        first_sequence=1,
        natura_of=rules,
        meter_of=meters_from_tariffs(book_of_tariffs),
    )
    by_number = {s.number: s for s in everything if s.number is not None}
    issued = sorted(by_number)
    assert [d.number for d in documents] == issued
    assert issued == [f"2026/{n:04d}" for n in range(1, len(issued) + 1)]
    assert [d.progressivo for d in documents] == [progressivo(n + 1) for n in range(len(issued))]
    for document in documents:
        issued_one = by_number[document.number]
        fattura = auto_from_etree(ET.fromstring(fattura_xml(document)))
        general = fattura.fattura_elettronica_body[0].dati_generali.dati_generali_documento
        total = int(general.importo_totale_documento * 100)
        if issued_one.kind is StatementKind.CREDIT_NOTE:
            assert document.type is DocumentType.CREDIT_NOTE
            assert total == -issued_one.total_cents == credited[document.number]
        else:
            assert document.type is DocumentType.STATEMENT
            assert total == issued_one.total_cents

    by_statement = {s.id: parties[s.member] for s in everything}
    rows = register_rows(everything, by_statement, BillingMode.FATTURA, natura_of=rules)
    assert [r.number for r in rows] == issued
    for row in rows:
        parts = (
            sum(c for _, c in row.taxable_by_rate)
            + sum(c for _, c in row.vat_by_rate)
            + sum(c for _, c in row.exempt_by_natura)
        )
        assert parts == row.total_cents == by_number[row.number].total_cents
    month_total = sum(s.total_cents for s in everything)
    for locale, delimiter in ((Locale.IT, ";"), (Locale.EN, ",")):
        table = list(csv.reader(io.StringIO(register_csv(rows, locale)), delimiter=delimiter))
        header, body = table[0], table[1:]
        assert [line[0] for line in body] == issued
        money = range(5, len(header) - 1)  # every amount column, the total last
        assert [sum(from_text(line[i]) for i in money[:-1]) for line in body] == [
            r.total_cents for r in rows
        ]
        assert sum(from_text(line[money[-1]]) for line in body) == month_total
