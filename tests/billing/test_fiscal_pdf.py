"""A statement's PDF is a document a treasurer files: parties, document type, Natura, payment."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import zxingcpp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from services.billing.allocation import AllocationKey, CostPool
from services.billing.credit import credit_note
from services.billing.engine import MemberStatement, MonthInputs, bill_month
from services.billing.fiscal_print import FiscalContext, OriginalDocument, creditor_reference
from services.billing.footnotes import SYMBOLS, Footnotes
from services.billing.months import Month
from services.billing.pdf import statement_pdf
from services.billing.prepaid import CreditPayment
from services.billing.records import (
    Line,
    LineKind,
    StatementKind,
    StatementStatus,
    StoredStatement,
    lines_of,
    vat_summary,
)
from services.billing.settings import Workshop
from services.billing.tariffs import Allowance, Meter, Plan, PlanPeriod, Tariff, TariffBook
from services.fiscal import BillingMode, Natura
from services.ledger.registry import MachineSpec
from tests.billing.conftest import Shop, book, join
from tests.billing.examples import LASER, LATHE, ROME, SITE, member, rome, usage
from tests.fiscal.examples import IBAN, company, person, workshop

OCTOBER = Month(2026, 10)
SETTINGS_WORKSHOP = Workshop(name="Officina Comune", address=("Via Roma 1",))
FATTURA = workshop()
RENDICONTO = workshop(
    legal_name="Associazione Officina Aperta",
    vat_number=None,
    fiscal_code="80213330584",
    rea=None,
    billing_mode=BillingMode.RENDICONTO,
)
_AMOUNT = r"-?€[\d.,]+|-?[\d.,]+ €"
_MARK = re.compile("|".join(f"{re.escape(symbol)}+" for symbol in SYMBOLS))


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, every run of white space one space."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join((page.extract_text() or "").split()) for page in pages)


def cents(text: str) -> int:
    """`1.258,50 €` or `€1,258.50` (or negative) as cents; amounts always have two decimals."""
    value = int(re.sub(r"\D", "", text))
    return -value if "-" in text else value


def issued_october(shop: Shop) -> None:
    """Anna 150 running minutes on the laser at 22 %, a plan fee and electricity at 0 %."""
    shop.registry.save_machine(MachineSpec(site=SITE, id=LASER, name="Laser CO2", gateway="gw-1"))
    shop.billing.ledger.add_tariff(
        Tariff(
            valid_from=date(2026, 1, 1),
            site=SITE,
            machine=LASER,
            per_running_minute=500_000,
            vat_bp=2200,
        )
    )
    shop.billing.ledger.save_plan(Plan(name="socio", monthly_fee_cents=3_000))
    join(shop, "anna")
    join(shop, "bruno")
    shop.billing.ledger.set_locale("bruno", "en")
    for who in ("anna", "bruno"):
        shop.billing.ledger.assign_plan(who, "socio", valid_from=date(2026, 1, 1))
    book(shop, "anna", rome(2026, 10, 5, 9), minutes=150, kwh=3)
    book(shop, "bruno", rome(2026, 10, 6, 9), minutes=60, kwh=1)
    shop.billing.ledger.add_pool(
        OCTOBER, CostPool(name="Elettricità", total_cents=4_000, key=AllocationKey.KWH)
    )
    shop.billing.make_drafts(OCTOBER)
    shop.billing.issue(OCTOBER)


def render(statement: StoredStatement, fiscal: FiscalContext | None = None) -> str:
    return pdf_text(statement_pdf(statement, workshop=SETTINGS_WORKSHOP, tz=ROME, fiscal=fiscal))


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_fattura_names_both_parties_and_says_it_is_a_courtesy_copy(shop: Shop) -> None:
    issued_october(shop)
    anna, bruno = shop.billing.ledger.statements(OCTOBER)
    italian = render(anna, FiscalContext(workshop=FATTURA, party=company()))
    for seen in (
        "Emittente",
        "Officina Condivisa Soc. Coop.",
        "Via della Meccanica 12/B",
        "10121 Torino (TO)",
        "P. IVA IT12345670017",
        "REA TO-1234567",
        "Capitale sociale 10.000,00 €",
        "Intestatario",
        "Rossi Prototipi S.r.l.",
        "Via Nizza 40",
        "P. IVA IT02727250017",
        "Codice destinatario A1B2C3D",
        "Fattura 2026/0001",
        "Copia di cortesia della fattura elettronica n. 2026/0001, il documento fiscale è"
        " quello trasmesso tramite SdI.",
    ):
        assert seen in italian
    assert "Estratto conto" not in italian
    english = render(bruno, FiscalContext(workshop=FATTURA, party=person(pec="mario@pec.it")))
    for seen in (
        "From",
        "Bill to",
        "Mario Rossi",
        "Corso Francia 3",
        "Tax code RSSMRA85T10A562S",
        "PEC mario@pec.it",
        "Invoice 2026/0002",
        "Courtesy copy of electronic invoice no. 2026/0002; the tax document is the one sent"
        " through the SdI.",
    ):
        assert seen in english


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_rendiconto_says_it_is_no_invoice_and_why_in_both_languages(shop: Shop) -> None:
    issued_october(shop)
    anna, bruno = shop.billing.ledger.statements(OCTOBER)
    italian = render(anna, FiscalContext(workshop=RENDICONTO, party=person()))
    assert "Rendiconto 2026/0001 — non costituisce fattura" in italian
    assert "Associazione Officina Aperta" in italian
    assert "C.F. 80213330584" in italian
    assert "Codice destinatario 0000000" in italian  # a person: the SdI's reserved area
    assert "Documento non fiscale." in italian
    assert "fuori campo IVA ai sensi dell'art. 4, comma 4, del DPR 633/1972" in italian
    assert "Copia di cortesia" not in italian
    english = render(bruno, FiscalContext(workshop=RENDICONTO, party=person()))
    assert "Statement of account 2026/0002 — not an invoice" in english
    assert "outside the scope of VAT under art. 4(4) of Presidential Decree 633/1972" in english


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_credit_note_names_the_document_it_corrects_and_asks_for_no_payment(
    shop: Shop,
) -> None:
    issued_october(shop)
    note = shop.billing.credit("2026/0001", reason="tariffa errata")
    original = OriginalDocument(number="2026/0001", issued=date(2026, 11, 2))
    fiscal = FiscalContext(workshop=FATTURA, party=company(), original=original)
    text = render(note, fiscal)
    assert "Nota di credito 2026/0003" in text
    assert "Rettifica il documento n. 2026/0001 del 2 novembre 2026." in text
    assert "Copia di cortesia della nota di credito elettronica n. 2026/0003" in text
    assert "Motivo: tariffa errata" in text
    assert "IBAN" not in text
    assert "Pagamento" not in text


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_each_line_shows_its_rate_its_name_and_hours_and_a_zero_line_its_natura(
    shop: Shop,
) -> None:
    issued_october(shop)
    anna, _ = shop.billing.ledger.statements(OCTOBER)
    text = render(anna, FiscalContext(workshop=RENDICONTO, party=person()))
    assert "Laser CO2 1 2,50 h 2,50 h 3,00 kWh 0,00 h 22% 75,00 €" in text  # machine time
    assert LASER not in text  # the machine's name, not its id
    assert "Piano socio 31/31 giorni 0%* 30,00 €" in text
    assert "Elettricità" in text
    assert (
        "* N2.2: Operazione fuori campo IVA ai sensi dell'art. 4, comma 4, DPR 633/72"
        " (Fuori campo IVA art. 4 c. 4 DPR 633/72)"
    ) in text
    exempt = {LineKind.PLAN_FEE: Natura.N4, LineKind.POOL_SHARE: Natura.N1}
    own = render(anna, FiscalContext(workshop=FATTURA, party=person(), natura=exempt))
    assert "Piano socio 31/31 giorni 0%* 30,00 €" in own
    assert "* N4: Operazione esente da IVA (Esente art. 10 DPR 633/72)" in own
    assert "† N1: Operazione esclusa dalla base imponibile ex art. 15 DPR 633/72" in own
    assert "N2.2" not in own


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_the_qr_code_pays_the_total_to_the_workshops_iban_quoting_the_number(
    shop: Shop,
) -> None:
    issued_october(shop)
    anna, _ = shop.billing.ledger.statements(OCTOBER)
    pdf = statement_pdf(
        anna,
        workshop=SETTINGS_WORKSHOP,
        tz=ROME,
        fiscal=FiscalContext(workshop=FATTURA, party=company()),
    )
    text = pdf_text(pdf)
    reference = creditor_reference("2026/0001")
    assert f"Importo da pagare: {_money(anna.total_cents)}" in text
    assert "Scadenza: 2 dicembre 2026" in text  # issued on 2 November, 30 days' terms
    assert "Beneficiario: Officina Condivisa Soc. Coop." in text
    assert "IBAN IT60 X054 2811 1010 0000 0123 456" in text
    assert "Riferimento (da indicare): RF31 2026 0001 (2026/0001)" in text
    (picture,) = PdfReader(io.BytesIO(pdf)).pages[0].images
    (scanned,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(picture.data)))
    assert scanned.format == zxingcpp.BarcodeFormat.QRCode
    fields = scanned.text.split("\n")
    assert fields[:4] == ["BCD", "002", "1", "SCT"]
    assert fields[5:] == [
        "Officina Condivisa Soc. Coop.",
        IBAN,
        f"EUR{anna.total_cents // 100}.{anna.total_cents % 100:02d}",
        "",
        reference,
    ]
    # Part paid from her credit: the transfer asks for what is still owed; all of it, for none.
    part = CreditPayment(anna.total_cents, 10_000, anna.total_cents - 10_000, 0)
    context = FiscalContext(workshop=FATTURA, party=company())
    owed = pdf_text(
        statement_pdf(anna, workshop=SETTINGS_WORKSHOP, tz=ROME, fiscal=context, from_credit=part)
    )
    assert f"Importo da pagare: {_money(part.owed_cents)}" in owed
    assert f"Pagato con il credito -{_money(10_000)}" in owed.replace("\u2212", "-")
    whole = CreditPayment(anna.total_cents, anna.total_cents, 0, 500)
    settled = pdf_text(
        statement_pdf(anna, workshop=SETTINGS_WORKSHOP, tz=ROME, fiscal=context, from_credit=whole)
    )
    assert "IBAN" not in settled and "Credito residuo 5,00 €" in settled
    draft_month = Month(2026, 11)
    book(shop, "anna", rome(2026, 11, 5, 9), minutes=30)
    shop.billing.make_drafts(draft_month)
    (draft, *_) = shop.billing.ledger.statements(draft_month)
    unpaid = render(draft, FiscalContext(workshop=FATTURA, party=company()))
    assert "IBAN" not in unpaid  # a draft is not paid
    assert "Copia di cortesia" not in unpaid  # nor sent to the SdI


def _money(amount: int) -> str:
    whole, part = divmod(amount, 100)
    return f"{whole:,}".replace(",", ".") + f",{part:02d} €"


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_every_page_of_a_long_statement_says_which_of_how_many_it_is(shop: Shop) -> None:
    join(shop, "anna")
    for day in range(1, 31):
        for hour in (8, 11, 14, 17):
            book(shop, "anna", rome(2026, 10, day, hour), minutes=45)
    shop.billing.make_drafts(OCTOBER)
    (draft,) = shop.billing.ledger.statements(OCTOBER)
    reader = PdfReader(io.BytesIO(statement_pdf(draft, workshop=SETTINGS_WORKSHOP, tz=ROME)))
    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        assert f"Pagina {number} / {pages}" in (page.extract_text() or "")


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_without_a_fiscal_profile_the_statement_is_printed_as_before(shop: Shop) -> None:
    issued_october(shop)
    anna, _ = shop.billing.ledger.statements(OCTOBER)
    text = pdf_text(shop.billing.pdf(anna))
    assert "Officina Comune Via Roma 1" in text
    assert "Estratto conto 2026/0001" in text
    assert "Piano socio 31/31 giorni 0% 30,00 €" in text  # no Natura without a profile
    assert "Pagina 1 / 1" in text
    for absent in ("Fattura", "Intestatario", "IBAN", "Note ", "*"):
        assert absent not in text


# Statements drawn from the real engine, without a database: the marks and the total.

_MACHINES = (LASER, LATHE)
_NOVEMBER_FIRST = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # midnight in Rome


@st.composite
def month_inputs(draw: st.DrawFn) -> MonthInputs:
    """A member's October: sessions (some past month end), tariffs, a plan, pools; any VAT."""
    rates = st.sampled_from([0, 400, 1000, 2200])
    tariffs = [
        Tariff(
            valid_from=date(2026, 1, 1),
            site=SITE,
            machine=machine,
            per_running_minute=draw(st.integers(0, 2_000_000)),
            per_kwh=draw(st.integers(0, 400_000)),
            minimum_cents=draw(st.sampled_from([0, 200, 5_000])),
            vat_bp=draw(rates),
        )
        for machine in _MACHINES
    ]
    sessions = []
    for _ in range(draw(st.integers(0, 6))):
        started = draw(
            st.datetimes(
                min_value=datetime(2026, 10, 1, 0, 0),  # naive bounds, made UTC below
                max_value=datetime(2026, 10, 31, 22, 0),
            )
        ).replace(tzinfo=UTC)
        minutes = draw(st.integers(1, 300))
        sessions.append(
            usage(
                "anna",
                started,
                minutes=minutes,
                running_minutes=draw(st.integers(0, minutes)),
                kwh=draw(st.integers(0, 20)),
                machine=draw(st.sampled_from(_MACHINES)),
            )
        )
    if draw(st.booleans()):  # a session that runs on into November: split at month end
        sessions.append(usage("anna", _NOVEMBER_FIRST - timedelta(minutes=30), minutes=90))
    included = Allowance(meter=Meter.RUNNING_MINUTES, quantity=draw(st.integers(0, 7_200_000)))
    plan = Plan(
        name="socio",
        monthly_fee_cents=draw(st.integers(0, 10_000)),
        vat_bp=draw(rates),
        allowances=(included,) if draw(st.booleans()) else (),
    )
    pools = [
        CostPool(
            name=f"Voce {index}",
            total_cents=draw(st.integers(0, 100_000)),
            key=AllocationKey.EQUAL,
            vat_bp=draw(rates),
        )
        for index in range(draw(st.integers(0, 2)))
    ]
    return MonthInputs(
        month=OCTOBER,
        tz=ROME,
        sessions=sessions,
        members={"anna": member("anna"), "bruno": member("bruno")},
        plans={"socio": plan},
        plan_periods=[PlanPeriod("anna", date(2026, 1, 1), "socio")],
        tariffs=TariffBook.of(tariffs),
        pools=pools,
    )


def annas(inputs: MonthInputs) -> MemberStatement | None:
    """Anna's statement of the month, as the engine computes it (None: nothing to bill)."""
    return next((s for s in bill_month(inputs).statements if s.member.id == "anna"), None)


def stored(computed: MemberStatement | None, locale: str) -> StoredStatement:
    """A computed statement as the ledger keeps it once issued."""
    assert computed is not None
    lines = tuple(lines_of(computed))
    summary = vat_summary(lines)
    issued = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    return StoredStatement(
        id=1,
        kind=StatementKind.STATEMENT,
        status=StatementStatus.ISSUED,
        member="anna",
        member_name="Anna",
        member_email=None,
        month="2026-10",
        revision=1,
        number="2026/0001",
        credits_number=None,
        reason=None,
        locale=locale,
        currency="EUR",
        net_cents=sum(v.net_cents for v in summary),
        vat_cents=sum(v.vat_cents for v in summary),
        total_cents=sum(v.net_cents + v.vat_cents for v in summary),
        made_at=issued,
        issued_at=issued,
        emailed_at=None,
        lines=lines,
    )


def credited(statement: StoredStatement, lines: list[Line]) -> StoredStatement:
    """A credit note of these lines against an issued statement, as the ledger keeps it."""
    summary = vat_summary(lines)
    return replace(
        statement,
        id=2,
        kind=StatementKind.CREDIT_NOTE,
        number="2026/0002",
        credits_number=statement.number,
        reason="rettifica",
        net_cents=sum(v.net_cents for v in summary),
        vat_cents=sum(v.vat_cents for v in summary),
        total_cents=sum(v.net_cents + v.vat_cents for v in summary),
        lines=tuple(lines),
    )


@given(
    inputs=month_inputs(),
    locale=st.sampled_from(["it", "en"]),
    profile=st.sampled_from([None, FATTURA, RENDICONTO]),
    as_credit_note=st.booleans(),
    natura=st.dictionaries(st.sampled_from(LineKind), st.sampled_from(Natura)),
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_mark_has_its_note_every_note_its_mark_and_the_total_is_the_statements(
    inputs: MonthInputs,
    locale: str,
    profile: object,
    as_credit_note: bool,
    natura: dict[LineKind, Natura],
) -> None:
    computed = annas(inputs)
    assume(computed is not None)
    statement = stored(computed, locale)
    original = None
    if as_credit_note:
        credit = credit_note(statement.lines, number="2026/0001", reason="rettifica")
        assume(credit)
        statement = credited(statement, credit)
        original = OriginalDocument(number="2026/0001", issued=date(2026, 11, 2))
    fiscal = None
    if profile is FATTURA or profile is RENDICONTO:
        fiscal = FiscalContext(workshop=profile, party=company(), original=original, natura=natura)
    reader = PdfReader(
        io.BytesIO(statement_pdf(statement, workshop=SETTINGS_WORKSHOP, tz=ROME, fiscal=fiscal))
    )
    lines = [line for page in reader.pages for line in (page.extract_text() or "").splitlines()]
    heading = "Notes" if locale == "en" else "Note"
    split = lines.index(heading) if heading in lines else len(lines)
    body, notes = lines[:split], lines[split + 1 :]
    used = {mark for line in body for mark in _MARK.findall(line)}
    noted = [line.split(" ", 1)[0] for line in notes if _MARK.match(line)]
    assert len(noted) == len(set(noted))
    assert used == set(noted)
    text = " ".join(body)
    header, total_word = (
        ("Rate Net VAT", "Total") if locale == "en" else ("Aliquota Imponibile IVA", "Totale")
    )
    (rows, total) = re.findall(rf"{header} (.*?) {total_word} ({_AMOUNT})", text)[-1]
    assert cents(total) == statement.total_cents
    assert sum(cents(amount) for amount in re.findall(_AMOUNT, rows)) == statement.total_cents


def fee_only(fee_cents: int) -> MonthInputs:
    """A month in which anna pays her plan's fee, at 0 %, and nothing else."""
    return MonthInputs(
        month=OCTOBER,
        tz=ROME,
        sessions=(),
        members={"anna": member("anna")},
        plans={"socio": Plan(name="socio", monthly_fee_cents=fee_cents)},
        plan_periods=[PlanPeriod("anna", date(2026, 1, 1), "socio")],
    )


def test_a_fattura_notes_the_virtual_stamp_duty_above_77_47_euros_without_vat() -> None:
    stamp = "Imposta di bollo assolta in modo virtuale"
    for fee, profile, noted in (
        (7_748, FATTURA, True),
        (7_747, FATTURA, False),
        (7_748, RENDICONTO, False),
    ):
        statement = stored(annas(fee_only(fee)), "it")
        text = render(statement, FiscalContext(workshop=profile, party=company()))
        assert (stamp in text) is noted, (fee, profile.billing_mode)


def test_marks_go_by_first_use_and_double_once_the_symbols_run_out() -> None:
    footnotes = Footnotes()
    marks = [footnotes.mark(f"note {n}", f"text {n}") for n in range(7)]
    assert marks == ["*", "†", "‡", "§", "¶", "**", "††"]
    assert footnotes.mark("note 0", "text 0") == "*"  # a note keeps its mark
    assert footnotes.notes[5] == ("**", "text 5")
