"""Issued statements become FatturaPA documents and the accountant's register, to the cent.

The billing engine makes and issues a month on a real SQLite ledger; the documents are checked
against the Agenzia's schema and read back by python-a38, as the SdI's intermediary would.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import xmlschema
from a38.fattura import auto_from_etree
from lxml import etree

from services.billing.allocation import AllocationKey, CostPool
from services.billing.errors import BillingInputError
from services.billing.fiscal import (
    NotAFiscalDocumentError,
    fiscal_document,
    month_documents,
    month_fiscal_documents,
    rendiconto_wording,
    statement_wording,
)
from services.billing.fiscal_lines import NaturaRules, meters_from_tariffs
from services.billing.months import Month
from services.billing.records import StoredStatement
from services.billing.register import register_csv, register_json, register_rows
from services.billing.tariffs import Plan, Tariff, TariffBook
from services.fiscal.document import DocumentType, FiscalDocument, progressivo
from services.fiscal.fatturapa import NAMESPACE, fattura_xml
from services.fiscal.natura import Natura
from services.fiscal.profiles import BillingMode, BillingParty
from services.fiscal.wording import Locale
from services.ledger import MachineSpec
from tests.billing.conftest import Shop, book, join
from tests.billing.examples import LASER, LATHE, ROME, SITE, rome
from tests.billing.test_issue_one import fresh_shop
from tests.fatturapa_schema import fatturapa_schema
from tests.fiscal.examples import IBAN, company, person, workshop

__all__ = ["fatturapa_schema"]

OCTOBER = Month(2026, 10)
ISSUED_ON = date(2026, 11, 2)  # the shop's clock: 2 November 2026, 09:00 UTC
CREDITED_ON = datetime(2026, 11, 10, 9, 0, tzinfo=ROME)
RULES = NaturaRules(by_pool={"affitto": Natura.N4})


def register_machines(shop: Shop) -> None:
    """The laser and the lathe, with the names members know them by."""
    for machine, name in ((LASER, "Laser CO2 Trotec"), (LATHE, "Tornio parallelo")):
        shop.registry.save_machine(
            MachineSpec(site=SITE, id=machine, name=name, gateway="gw-1", idle_amps=1, run_amps=4)
        )


def busy_october(shop: Shop, extra_pools: Sequence[CostPool] = ()) -> list[StoredStatement]:
    """Anna and Bruno use the laser (per minute, 22 %) and the lathe (per kWh, 10 %), pay a
    plan and share the electricity (22 %) and the rent (0 %, exempt); October is issued."""
    register_machines(shop)
    ledger = shop.billing.ledger
    ledger.add_tariff(
        Tariff(
            valid_from=date(2026, 1, 1),
            site=SITE,
            machine=LASER,
            per_running_minute=350_000,
            vat_bp=2200,
        )
    )
    ledger.add_tariff(
        Tariff(valid_from=date(2026, 1, 1), site=SITE, machine=LATHE, per_kwh=410_000, vat_bp=1000)
    )
    ledger.save_plan(Plan(name="base", monthly_fee_cents=2_500, vat_bp=2200))
    for member in ("anna", "bruno"):
        join(shop, member)
        ledger.assign_plan(member, "base", valid_from=date(2026, 1, 1))
    book(shop, "anna", rome(2026, 10, 6, 10), minutes=95, running_minutes=80, kwh=3.2)
    book(shop, "anna", rome(2026, 10, 7, 15), minutes=40, kwh=6.5, machine=LATHE)
    book(shop, "bruno", rome(2026, 10, 8, 9), minutes=33, running_minutes=31)
    ledger.add_pool(
        OCTOBER,
        CostPool(name="elettricita", total_cents=12_345, key=AllocationKey.EQUAL, vat_bp=2200),
    )
    ledger.add_pool(OCTOBER, CostPool(name="affitto", total_cents=40_001, key=AllocationKey.EQUAL))
    for pool in extra_pools:
        ledger.add_pool(OCTOBER, pool)
    shop.billing.make_drafts(OCTOBER)
    shop.billing.issue(OCTOBER)
    return shop.billing.ledger.statements(OCTOBER)


def parties() -> dict[str, BillingParty]:
    """Anna is billed as herself, Bruno through his company."""
    return {"anna": person(), "bruno": company()}


def a38_total(xml: bytes) -> Decimal:
    """ImportoTotaleDocumento as python-a38 reads it back."""
    fattura = auto_from_etree(ET.fromstring(xml))
    body = fattura.fattura_elettronica_body[0]
    total: Decimal = body.dati_generali.dati_generali_documento.importo_totale_documento
    return total


def cents(text: str) -> int:
    """Decimal text (point or comma) as cents."""
    value = Decimal(text.replace(",", "."))
    assert value == value.quantize(Decimal("0.01"))
    return int(value * 100)


def xml_text(xml: bytes, path: str) -> list[str]:
    """The text of every element at an XPath of a document."""
    result = etree.fromstring(xml).xpath(path, namespaces={"p": NAMESPACE})
    assert isinstance(result, list)
    return [node.text or "" for node in result if isinstance(node, etree._Element)]


def documents_of(shop: Shop, statements: Sequence[StoredStatement]) -> list[FiscalDocument]:
    """The November documents of the shop's October statements, progressivi from 00001."""
    return month_fiscal_documents(
        "2026-11",
        statements,
        workshop=workshop(),
        parties=parties(),
        first_sequence=1,
        natura_of=RULES,
        meter_of=meters_from_tariffs(TariffBook.of(shop.billing.ledger.tariffs())),
    )


def test_an_issued_month_is_valid_fatturapa_read_back_to_the_statements_totals(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    with fresh_shop() as shop:
        statements = busy_october(shop)
        documents = documents_of(shop, statements)
        assert [d.number for d in documents] == ["2026/0001", "2026/0002"]
        for statement, document in zip(statements, documents, strict=True):
            xml = fattura_xml(document)
            fatturapa_schema.validate(xml.decode())
            assert a38_total(xml) == Decimal(statement.total_cents).scaleb(-2)
            assert document.type is DocumentType.STATEMENT
            assert document.issue_date == ISSUED_ON
            payment = document.payment
            assert payment is not None
            assert (payment.iban, payment.due_date) == (IBAN, ISSUED_ON + timedelta(days=30))
            assert payment.amount_cents == statement.total_cents
            assert xml_text(xml, "//ModalitaPagamento") == ["MP05"]

        anna = fattura_xml(documents[0])
        descriptions = xml_text(anna, "//DettaglioLinee/Descrizione")
        assert (
            descriptions[0] == "Uso Laser CO2 Trotec del 06/10/2026, 1.33 h in funzione, 3.200 kWh"
        )
        assert descriptions[1].startswith("Uso Tornio parallelo del 07/10/2026")
        assert "Quota mensile piano base" in descriptions
        assert "Quota spese comuni: affitto" in descriptions
        # The laser is priced per running minute, shown in hours; the lathe per kWh.
        assert xml_text(anna, "//DettaglioLinee/UnitaMisura")[:2] == ["h", "kWh"]
        assert xml_text(anna, "//DettaglioLinee/Quantita")[:2] == ["1.33333333", "6.50"]
        # The rent is exempt (N4, the pool's rule); VAT summaries are billing's per-rate VAT.
        assert xml_text(anna, "//DatiRiepilogo/Natura") == ["N4"]
        vat = {v.vat_bp: v.vat_cents for v in statements[0].vat}
        rates = xml_text(anna, "//DatiRiepilogo/AliquotaIVA")
        taxes = [cents(t) for t in xml_text(anna, "//DatiRiepilogo/Imposta")]
        assert {r: t for r, t in zip(rates, taxes, strict=True) if r != "0.00"} == {
            "22.00": vat[2200],
            "10.00": vat[1000],
        }


def test_a_credit_note_is_a_td04_naming_the_invoice_it_corrects(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    with fresh_shop() as shop:
        statements = busy_october(shop)
        shop.clock.now = CREDITED_ON
        whole = shop.billing.credit("2026/0001", reason="Laser guasto, sessioni rimborsate")
        part = shop.billing.credit("2026/0002", reason="Sconto", net_cents=1_000, vat_bp=2200)
        documents = documents_of(shop, [*statements, whole, part])
        assert [(d.type, d.number, d.progressivo) for d in documents] == [
            (DocumentType.STATEMENT, "2026/0001", "00001"),
            (DocumentType.STATEMENT, "2026/0002", "00002"),
            (DocumentType.CREDIT_NOTE, "2026/0003", "00003"),
            (DocumentType.CREDIT_NOTE, "2026/0004", "00004"),
        ]
        for note, document in ((whole, documents[2]), (part, documents[3])):
            xml = fattura_xml(document)
            fatturapa_schema.validate(xml.decode())
            assert a38_total(xml) == Decimal(-note.total_cents).scaleb(-2)
            assert document.payment is None
            assert document.issue_date == date(2026, 11, 10)
        assert xml_text(fattura_xml(documents[2]), "//DatiFattureCollegate/IdDocumento") == [
            "2026/0001"
        ]
        assert xml_text(fattura_xml(documents[3]), "//DatiFattureCollegate/Data") == ["2026-11-02"]
        # The whole credit gives each Natura back what it charged.
        assert xml_text(fattura_xml(documents[2]), "//DatiRiepilogo/Natura") == ["N4"]
        assert documents[3].total_cents == 1_220


def test_a_partial_credit_of_exempt_lines_takes_back_each_natura_in_proportion(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    cleaning = CostPool(name="pulizie", total_cents=10_000, key=AllocationKey.EQUAL)
    rules = NaturaRules(by_pool={"affitto": Natura.N4, "pulizie": Natura.N1})
    with fresh_shop() as shop:
        anna, bruno = busy_october(shop, extra_pools=(cleaning,))  # rent 200.01, cleaning 50.00
        shop.clock.now = CREDITED_ON
        part = shop.billing.credit("2026/0001", reason="Sconto", net_cents=10_000, vat_bp=0)
        whole = shop.billing.credit("2026/0002", reason="Errore")
    document = fiscal_document(
        part,
        workshop=workshop(),
        party=person(),
        progressivo="00003",
        original=anna,
        natura_of=rules,
    )
    xml = fattura_xml(document)
    fatturapa_schema.validate(xml.decode())
    # 100.00 EUR taken back from 200.01 (N4) and 50.00 (N1): 80.00 and 20.00, no cent lost.
    assert xml_text(xml, "//DatiRiepilogo/Natura") == ["N4", "N1"]
    assert xml_text(xml, "//DatiRiepilogo/ImponibileImporto") == ["80.00", "20.00"]
    assert a38_total(xml) == Decimal("100.00")
    undone = fattura_xml(
        fiscal_document(
            whole,
            workshop=workshop(),
            party=company(),
            progressivo="00004",
            original=bruno,
            natura_of=rules,
        )
    )
    given_back = zip(
        xml_text(undone, "//DatiRiepilogo/Natura"),
        xml_text(undone, "//DatiRiepilogo[Natura]/ImponibileImporto"),
        strict=True,
    )
    assert dict(given_back) == {"N4": "200.00", "N1": "50.00"}


def test_a_credit_note_without_its_original_is_refused_by_name() -> None:
    with fresh_shop() as shop:
        busy_october(shop)
        note = shop.billing.credit("2026/0001", reason="errore")
        with pytest.raises(BillingInputError, match="original"):
            fiscal_document(note, workshop=workshop(), party=person(), progressivo="00001")


def test_a_rendiconto_workshop_makes_no_fatturapa_and_says_why() -> None:
    with fresh_shop() as shop:
        anna = busy_october(shop)[0]
        association = workshop(billing_mode=BillingMode.RENDICONTO)
        with pytest.raises(NotAFiscalDocumentError, match="rendiconto"):
            fiscal_document(anna, workshop=association, party=person(), progressivo="00001")
        wording = rendiconto_wording(Locale.IT)
        assert wording.title == "Rendiconto"
        assert "art. 4" in wording.notice and "non fiscale" in wording.notice
        assert statement_wording(association, locale=Locale.EN) == rendiconto_wording(Locale.EN)
        assert statement_wording(workshop(), locale=Locale.IT, credit_note=True).title == (
            "Nota di credito"
        )


def test_a_draft_has_no_fiscal_document() -> None:
    with fresh_shop() as shop:
        register_machines(shop)
        join(shop, "anna")
        shop.billing.ledger.add_tariff(
            Tariff(valid_from=date(2026, 1, 1), site=SITE, per_running_minute=500_000)
        )
        book(shop, "anna", rome(2026, 10, 5, 9), minutes=30)
        shop.billing.make_drafts(OCTOBER)
        (draft,) = shop.billing.ledger.statements(OCTOBER)
        with pytest.raises(NotAFiscalDocumentError, match="draft"):
            fiscal_document(draft, workshop=workshop(), party=person(), progressivo="00001")


def test_stamp_duty_billing_does_not_charge_is_refused_rather_than_added() -> None:
    with fresh_shop() as shop:
        anna = busy_october(shop)[0]  # 200.00 EUR of exempt rent: stamp duty is due
        charging = workshop(stamp_duty_charged_to_party=True)
        with pytest.raises(BillingInputError, match="stamp duty"):
            fiscal_document(anna, workshop=charging, party=person(), progressivo="00001")
        document = fiscal_document(anna, workshop=workshop(), party=person(), progressivo="00001")
        assert document.stamp_duty and document.total_cents == anna.total_cents


def test_the_month_bundle_numbers_progressivi_without_gaps_in_issue_order() -> None:
    with fresh_shop() as shop:
        statements = busy_october(shop)
        shop.clock.now = CREDITED_ON
        note = shop.billing.credit("2026/0002", reason="Sconto", net_cents=500, vat_bp=2200)
        bundle = month_documents(
            "2026-11",
            [note, *reversed(statements)],
            workshop=workshop(),
            parties=parties(),
            first_sequence=41,
            natura_of=RULES,
        )
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    rows = manifest["documents"]
    assert [(r["number"], r["type"]) for r in rows] == [
        ("2026/0001", "TD01"),
        ("2026/0002", "TD01"),
        ("2026/0003", "TD04"),
    ]
    assert [r["file"] for r in rows] == [
        f"IT12345670017_{progressivo(n)}.xml" for n in range(41, 44)
    ]


def read_register(text: str, locale: Locale) -> list[dict[str, str]]:
    """The register CSV as a spreadsheet would read it."""
    delimiter = ";" if locale is Locale.IT else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def test_the_register_books_every_document_in_both_languages() -> None:
    with fresh_shop() as shop:
        statements = busy_october(shop)
        shop.clock.now = CREDITED_ON
        note = shop.billing.credit("2026/0001", reason="Laser guasto")
        issued = [*statements, note]
        by_statement = {s.id: parties()[s.member] for s in issued}
        rows = register_rows(issued, by_statement, BillingMode.FATTURA, natura_of=RULES)
    assert [(r.number, r.type, r.credits) for r in rows] == [
        ("2026/0001", "TD01", None),
        ("2026/0002", "TD01", None),
        ("2026/0003", "TD04", "2026/0001"),
    ]
    assert rows[1].party_name == "Rossi Prototipi S.r.l."
    assert rows[1].party_tax_id == "02727250017"
    assert [r.total_cents for r in rows] == [s.total_cents for s in issued]

    italian = read_register(register_csv(rows, Locale.IT), Locale.IT)
    assert italian[0]["data"] == "02/11/2026" and italian[0]["tipo"] == "TD01"
    assert italian[2]["storna"] == "2026/0001"
    assert [cents(r["totale"]) for r in italian] == [s.total_cents for s in issued]
    assert cents(italian[2]["importo N4"]) == -20_001  # anna's half of the rent, the odd cent
    english = read_register(register_csv(rows, Locale.EN), Locale.EN)
    assert english[0]["date"] == "2026-11-02"
    assert [cents(r["total"]) for r in english] == [s.total_cents for s in issued]
    assert [cents(r["taxable 22%"]) for r in english] == [
        cents(r["imponibile 22%"]) for r in italian
    ]

    documents = json.loads(register_json(rows))["documents"]
    assert documents[2]["credits"] == "2026/0001"
    assert [cents(d["total"]) for d in documents] == [s.total_cents for s in issued]
    assert documents[0]["exempt"] == {"N4": "200.01"}


def test_a_reason_typed_with_any_character_still_makes_a_valid_credit_note(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    with fresh_shop() as shop:
        statements = busy_october(shop)
        note = shop.billing.credit("2026/0001", reason="Laser ✂ guasto\nrimborso 50 €")
        document = fiscal_document(
            note,
            workshop=workshop(),
            party=person(),
            progressivo="00007",
            original=statements[0],
            natura_of=RULES,
        )
    xml = fattura_xml(document)
    fatturapa_schema.validate(xml.decode())
    descriptions = xml_text(xml, "//DettaglioLinee/Descrizione")
    assert descriptions[0] == "Storno fattura 2026/0001: Laser ? guasto?rimborso 50 ?"


def test_a_party_named_like_a_formula_stays_a_name_in_the_register() -> None:
    with fresh_shop() as shop:
        statements = busy_october(shop)
    formula = company(name="=HYPERLINK(1)")
    by_member = {"anna": person(), "bruno": formula}
    by_statement = {s.id: by_member[s.member] for s in statements}
    rows = register_rows(statements, by_statement, BillingMode.FATTURA)
    english = read_register(register_csv(rows, Locale.EN), Locale.EN)
    assert english[1]["party"] == "'=HYPERLINK(1)"


def test_a_rendiconto_register_names_the_member_when_she_has_no_party() -> None:
    with fresh_shop() as shop:
        statements = busy_october(shop)
    rows = register_rows(statements, {}, BillingMode.RENDICONTO)
    assert [(r.type, r.party_name, r.party_tax_id) for r in rows] == [
        ("rendiconto", "Anna", ""),
        ("rendiconto", "Bruno", ""),
    ]
    with pytest.raises(BillingInputError, match="parties"):
        register_rows(statements, {}, BillingMode.FATTURA)


def test_lines_read_in_english_for_a_workshop_that_bills_in_english() -> None:
    with fresh_shop() as shop:
        anna = busy_october(shop)[0]
    document = fiscal_document(
        anna, workshop=workshop(), party=person(), progressivo="00001", locale=Locale.EN
    )
    descriptions = [line.description for line in document.lines]
    assert descriptions[0] == "Use of Laser CO2 Trotec on 06/10/2026, 1.33 h running, 3.200 kWh"
    assert "Monthly fee, plan base" in descriptions
    assert document.total_cents == anna.total_cents
