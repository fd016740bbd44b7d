"""Payments received: a bank statement matched to a month of issued statements, to the cent.

Each credit goes to the statement whose creditor reference or number it carries, else to the
one open for exactly its amount in its payer's name; the rest wait for a coordinator. A file
is booked whole or refused whole, and the same file twice books nothing twice.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from services.billing.bank_files import BankFileError
from services.billing.fiscal_print import creditor_reference
from services.billing.mailer import Mailer
from services.billing.models import PaymentRow
from services.billing.months import Month
from services.billing.payments import import_bank_file, payments_of, send_reminders
from services.billing.reconcile import MatchedBy, PaymentState
from services.billing.records import StatementKind, StoredStatement
from services.billing.service import Billing
from services.billing.settings import SmtpSecurity, SmtpSettings
from services.billing.tariffs import Tariff
from services.ledger import MachineSpec
from tests.billing.camt import V08, Entry, bank_csv, camt053
from tests.billing.conftest import Inbox, Shop, book, join
from tests.billing.examples import LASER, SITE, rome

OCTOBER = Month(2026, 10)
NOVEMBER_20 = date(2026, 11, 20)
MEMBERS = {"anna": 90, "bruno": 45, "carla": 30}  # running minutes in October


def issue_october(shop: Shop) -> dict[str, StoredStatement]:
    """October issued for three members at 0.50 € a running minute, by member."""
    shop.registry.save_machine(
        MachineSpec(site=SITE, id=LASER, name="Laser CO2", gateway="gw-1", idle_amps=1, run_amps=4)
    )
    shop.billing.ledger.add_tariff(
        Tariff(
            valid_from=date(2026, 1, 1),
            site=SITE,
            machine=LASER,
            per_running_minute=500_000,
            vat_bp=2200,
        )
    )
    for n, (member, minutes) in enumerate(MEMBERS.items()):
        join(shop, member)
        book(shop, member, rome(2026, 10, 5 + n, 9), minutes=minutes)
    shop.billing.make_drafts(OCTOBER)
    shop.billing.issue(OCTOBER)
    issued = shop.billing.ledger.statements(OCTOBER, kind=StatementKind.STATEMENT)
    return {statement.member: statement for statement in issued}


def booked_cents(billing: Billing) -> int:
    with billing.ledger.engine.connect() as db:
        return int(db.scalar(select(func.coalesce(func.sum(PaymentRow.amount_cents), 0))) or 0)


def test_a_camt_statement_pays_the_month_by_reference_number_and_name(shop: Shop) -> None:
    october = issue_october(shop)
    anna, bruno, carla = october["anna"], october["bruno"], october["carla"]
    assert anna.number is not None and bruno.number is not None
    entries = [
        Entry(anna.total_cents, "ROSSI ANNA", reference=creditor_reference(anna.number)),
        Entry(1000, "Bruno Bianchi", text=f"Saldo estratto conto {bruno.number} ottobre"),
        Entry(carla.total_cents, "CARLA VERDI", text="quota laboratorio"),
        Entry(4200, "Someone Else", text="rimborso"),
        Entry(99_999, "Fornitore", text="bolletta", debit=True),
    ]
    data = camt053(entries)

    first = import_bank_file(shop.billing, data)

    assert (first.kind, first.credits, first.result.added, first.result.matched) == (
        "camt",
        4,
        4,
        3,
    )
    states = payments_of(shop.billing, list(october.values()), NOVEMBER_20)
    assert states[anna.id].state is PaymentState.PAID
    assert states[bruno.id].state is PaymentState.PART_PAID
    assert states[bruno.id].paid_cents == 1000
    assert states[carla.id].state is PaymentState.PAID
    assert states[anna.id].due == date(2026, 12, 2)  # issued 2 November, 30 days
    matched = {p.statement_number: p.matched_by for p in shop.billing.ledger.payments()}
    assert matched[anna.number] is MatchedBy.REFERENCE
    assert matched[bruno.number] is MatchedBy.REFERENCE
    assert matched[carla.number] is MatchedBy.AMOUNT
    waiting = shop.billing.ledger.payments(unmatched=True)
    assert [(p.amount_cents, p.payer) for p in waiting] == [(4200, "Someone Else")]
    # The debit is the workshop's own spending: not a payment received.
    assert booked_cents(shop.billing) == anna.total_cents + 1000 + carla.total_cents + 4200

    again = import_bank_file(shop.billing, data)

    assert (again.result.added, again.result.already) == (0, 4)
    assert booked_cents(shop.billing) == anna.total_cents + 1000 + carla.total_cents + 4200


def test_a_late_statement_part_paid_is_overdue_and_a_coordinator_assigns_the_rest(
    shop: Shop,
) -> None:
    october = issue_october(shop)
    bruno = october["bruno"]
    import_bank_file(
        shop.billing,
        camt053([Entry(1000, "Bruno", text=f"{bruno.number}"), Entry(777, "Zio di Bruno")]),
    )
    after_terms = date(2026, 12, 3)
    assert payments_of(shop.billing, [bruno], after_terms)[bruno.id].state is PaymentState.OVERDUE
    (waiting,) = shop.billing.ledger.payments(unmatched=True)

    shop.billing.ledger.assign_payment(waiting.id, bruno.id, by="coordinator")

    state = payments_of(shop.billing, [bruno], after_terms)[bruno.id]
    assert state.paid_cents == 1777
    assert shop.billing.ledger.payments(unmatched=True) == []
    settled = {p.id: p for p in shop.billing.ledger.payments(unmatched=False)}
    assert settled[waiting.id].matched_by is MatchedBy.COORDINATOR


def test_a_credit_marked_not_ours_leaves_every_statement_as_it_was(shop: Shop) -> None:
    october = issue_october(shop)
    import_bank_file(shop.billing, camt053([Entry(5000, "Banca", text="storno commissioni")]))
    (waiting,) = shop.billing.ledger.payments(unmatched=True)

    shop.billing.ledger.assign_payment(waiting.id, None, by="coordinator")

    assert shop.billing.ledger.payments(unmatched=True) == []
    states = payments_of(shop.billing, list(october.values()), NOVEMBER_20)
    assert {s.paid_cents for s in states.values()} == {0}


def test_a_bank_csv_with_italian_decimal_commas_pays_by_number(shop: Shop) -> None:
    october = issue_october(shop)
    anna = october["anna"]
    euros, cents = divmod(anna.total_cents, 100)
    rows = [
        ("20/11/2026", f"{euros},{cents:02d}", "Anna Rossi", f"estratto {anna.number}"),
        ("20/11/2026", "-1.234,50", "Fornitore", "bolletta"),
        ("21/11/2026", "1.000,00", "Ignoto", "donazione"),
    ]

    result = import_bank_file(shop.billing, bank_csv(rows))

    assert (result.kind, result.credits, result.result.matched) == ("csv", 2, 1)
    assert payments_of(shop.billing, [anna], NOVEMBER_20)[anna.id].state is PaymentState.PAID
    assert booked_cents(shop.billing) == anna.total_cents + 100_000
    assert import_bank_file(shop.billing, bank_csv(rows)).result.added == 0


def test_the_2019_camt_version_is_read_too(shop: Shop) -> None:
    october = issue_october(shop)
    carla = october["carla"]
    assert carla.number is not None
    data = camt053(
        [Entry(carla.total_cents, "C", reference=creditor_reference(carla.number))],
        namespace=V08,
    )
    assert import_bank_file(shop.billing, data).result.matched == 1


def test_a_batch_entry_pays_each_statement_its_transaction_names(shop: Shop) -> None:
    october = issue_october(shop)
    anna, carla = october["anna"], october["carla"]
    assert anna.number is not None and carla.number is not None
    parts = (
        Entry(anna.total_cents, "Coop", reference=creditor_reference(anna.number)),
        Entry(carla.total_cents, "Coop", text=f"fattura {carla.number}"),
    )
    batch = Entry(anna.total_cents + carla.total_cents, "Coop", parts=parts)

    result = import_bank_file(shop.billing, camt053([batch]))

    assert (result.credits, result.result.matched) == (2, 2)
    states = payments_of(shop.billing, [anna, carla], NOVEMBER_20)
    assert {s.state for s in states.values()} == {PaymentState.PAID}
    uneven = Entry(anna.total_cents + carla.total_cents + 1, "Coop", parts=parts, bank_ref="B2")
    with pytest.raises(BankFileError) as refused:
        import_bank_file(shop.billing, camt053([uneven]))
    assert refused.value.field == "Stmt[1]/Ntry[1]/NtryDtls"


GARBAGE = [
    (b"<Document><unclosed>", "line 1"),
    (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>',
        "Document",
    ),
    (
        camt053([Entry(100, "A")]).replace(b'<Amt Ccy="EUR">1.00</Amt>\n      <Cdt', b"<Cdt"),
        "Stmt[1]/Ntry[1]/Amt",
    ),
    (camt053([Entry(100, "A")]).replace(b">1.00<", b">1,00<", 1), "Stmt[1]/Ntry[1]/Amt"),
    (
        camt053([Entry(100, "A")]).replace(
            b"CRDT</CdtDbtInd>\n      <Sts>", b"XXXX</CdtDbtInd><Sts>"
        ),
        "Stmt[1]/Ntry[1]/CdtDbtInd",
    ),
    (
        camt053([Entry(100, "A")]).replace(
            b"<Dt>2026-11-20</Dt></BookgDt>", b"<Dt>ieri</Dt></BookgDt>"
        ),
        "Stmt[1]/Ntry[1]/BookgDt",
    ),
    (
        camt053([Entry(100, "A", text="&x;")])
        .replace(b"&amp;x;", b"&x;")
        .replace(b"?>", b'?>\n<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/hostname">]>', 1),
        "DOCTYPE",
    ),
    (bank_csv([("20/11/2026", "12.5.0", "A", "x")]), "line 2: amount"),
    (
        bank_csv([("20/11/2026", "1,00", "A", "x"), ("31/02/2026", "1,00", "B", "y")]),
        "line 3: date",
    ),
    (bank_csv([("20/11/2026", "1,00", "A")]), "line 2"),  # type: ignore[list-item]
    (b"data;importo;nome\n", "line 1"),
    (b"\xff\xfe\x00garbage", "line 1"),
]


@pytest.mark.parametrize(("data", "field"), GARBAGE)
def test_a_wrong_bank_file_is_refused_naming_where_and_stores_nothing(
    shop: Shop, data: bytes, field: str
) -> None:
    issue_october(shop)
    with pytest.raises(BankFileError) as refused:
        import_bank_file(shop.billing, data)
    assert refused.value.field == field
    assert shop.billing.ledger.payments() == []


def test_overdue_statements_get_a_reminder_by_mail(
    shop: Shop, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    october = issue_october(shop)
    anna, bruno = october["anna"], october["bruno"]
    assert anna.number is not None and bruno.number is not None
    import_bank_file(
        shop.billing,
        camt053(
            [
                Entry(anna.total_cents, "Anna", reference=creditor_reference(anna.number)),
                Entry(1000, "Bruno", text=bruno.number),
            ]
        ),
    )
    mailer = Mailer(
        SmtpSettings(
            host="127.0.0.1",
            port=port,
            security=SmtpSecurity.NONE,
            sender="cassa@officina.example",
        ),
        shop.billing.settings.workshop,
    )

    assert send_reminders(shop.billing, mailer, date(2026, 12, 2)) == ([], [])
    sent, failed = send_reminders(shop.billing, mailer, date(2026, 12, 3))

    assert (sorted(sent), failed) == (sorted([bruno.number, october["carla"].number or ""]), [])
    # Once a week, not every day.
    assert send_reminders(shop.billing, mailer, date(2026, 12, 9)) == ([], [])
    again, _ = send_reminders(shop.billing, mailer, date(2026, 12, 10))
    assert sorted(again) == sorted(sent)
    assert len(inbox.messages) == 4
    by_number = {m["Subject"].split(" · ")[1]: m for m in inbox.messages}
    body = by_number[bruno.number].get_body()
    assert body is not None
    text = body.get_content()
    assert creditor_reference(bruno.number) in text
    open_cents = bruno.total_cents - 1000
    assert f"{open_cents // 100},{open_cents % 100:02d}" in text
