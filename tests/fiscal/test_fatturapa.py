"""FatturaPA XML that the official schema accepts and an independent reader totals the same."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import xmlschema
from a38.fattura import auto_from_etree
from a38.validation import Validation
from lxml import etree
from pydantic import ValidationError

from services.fiscal.document import (
    DocumentType,
    FiscalDocument,
    OriginalDocument,
    progressivo,
    vat_cents,
)
from services.fiscal.errors import FiscalInputError, error_fields
from services.fiscal.fatturapa import NAMESPACE, fattura_xml, file_name
from services.fiscal.profiles import BillingMode
from tests.fiscal.examples import (
    ORGANISATION_CF,
    PEC,
    company,
    line,
    person,
    statement,
    workshop,
)


def parsed(document: FiscalDocument) -> etree._Element:
    """The document's XML, parsed back."""
    return etree.fromstring(fattura_xml(document))


def found(root: etree._Element, path: str) -> list[etree._Element]:
    """The elements at an XPath."""
    result = root.xpath(path)
    assert isinstance(result, list)
    return [element for element in result if isinstance(element, etree._Element)]


def text(root: etree._Element, path: str) -> str:
    """The text of the one element at an XPath."""
    (element,) = found(root, path)
    return element.text or ""


A38Reading = tuple[Decimal, list[tuple[Decimal, Decimal]], list[str]]


def a38_totals(document: FiscalDocument) -> A38Reading:
    """ImportoTotaleDocumento, the summaries and the rule errors, as python-a38 reads them."""
    fattura = auto_from_etree(ET.fromstring(fattura_xml(document)))
    validation = Validation()
    fattura.validate(validation)
    body = fattura.fattura_elettronica_body[0]
    summaries = [(r.imponibile_importo, r.imposta) for r in body.dati_beni_servizi.dati_riepilogo]
    total = body.dati_generali.dati_generali_documento.importo_totale_documento
    return total, summaries, [str(error) for error in validation.errors]


def test_statement_is_valid_fpr12_with_the_p_prefix_and_version(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    document = statement(
        line(
            12_345,
            description="Tempo macchina: tornio",
            quantity=Decimal("2.5"),
            unit_price_cents=4_938,
        ),
        line(8_000, rate="0", natura="N2.2", description="Quota di iscrizione al corso"),
        line(1_000, rate="10"),
    )
    xml = fattura_xml(document)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    fatturapa_schema.validate(xml.decode())
    root = etree.fromstring(xml)
    assert root.tag == f"{{{NAMESPACE}}}FatturaElettronica"
    assert root.prefix == "p" and root.get("versione") == "FPR12"
    assert text(root, "//DatiTrasmissione/FormatoTrasmissione") == "FPR12"
    assert text(root, "//DatiTrasmissione/CodiceDestinatario") == "A1B2C3D"
    assert text(root, "//DettaglioLinee[1]/Quantita") == "2.50"
    assert text(root, "//DatiRiepilogo[2]/RiferimentoNormativo").startswith("Fuori campo IVA")
    # 123.45 + 27.16 VAT, 80.00 outside VAT (bollo due), 10.00 + 1.00 VAT
    assert text(root, "//ImportoTotaleDocumento") == "241.61"
    assert text(root, "//DatiBollo/BolloVirtuale") == "SI"
    assert text(root, "//DatiBollo/ImportoBollo") == "2.00"
    assert text(root, "//DettaglioPagamento/ModalitaPagamento") == "MP05"
    assert text(root, "//DettaglioPagamento/DataScadenzaPagamento") == "2026-12-30"
    assert text(root, "//DettaglioPagamento/ImportoPagamento") == "241.61"
    assert text(root, "//DettaglioPagamento/IBAN") == document.workshop.iban
    assert file_name(document) == "IT12345670017_0000H.xml"


def test_the_schema_would_refuse_a_document_the_writer_got_wrong(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    root = parsed(statement())
    (rate,) = found(root, "//DatiRiepilogo/AliquotaIVA")
    rate.text = "22"  # the schema wants two decimals
    assert not fatturapa_schema.is_valid(etree.tostring(root).decode())
    root = parsed(statement())
    (general,) = found(root, "//DatiGeneraliDocumento")
    general.insert(0, general[3])  # Numero before TipoDocumento
    assert not fatturapa_schema.is_valid(etree.tostring(root).decode())


def test_independent_reader_finds_the_same_totals_and_no_rule_broken() -> None:
    document = statement(line(12_345), line(8_000, rate="0", natura="N4"), line(999, rate="4"))
    total, summaries, errors = a38_totals(document)
    assert errors == []
    assert total == Decimal("241.00")
    assert summaries == [
        (Decimal("123.45"), Decimal("27.16")),
        (Decimal("80.00"), Decimal("0.00")),
        (Decimal("9.99"), Decimal("0.40")),
    ]


def test_party_reached_by_pec_gets_seven_zeros_and_the_pec(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    document = statement(party=company(recipient_code=None, pec=PEC))
    fatturapa_schema.validate(fattura_xml(document).decode())
    root = parsed(document)
    assert text(root, "//CodiceDestinatario") == "0000000"
    assert text(root, "//PECDestinatario") == PEC
    assert a38_totals(document)[2] == []


def test_private_person_gets_seven_zeros_and_her_codice_fiscale(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    document = statement(party=person())
    fatturapa_schema.validate(fattura_xml(document).decode())
    root = parsed(document)
    assert text(root, "//CodiceDestinatario") == "0000000"
    assert found(root, "//PECDestinatario") == []
    assert text(root, "//CessionarioCommittente//CodiceFiscale") == "RSSMRA85T10A562S"
    assert text(root, "//CessionarioCommittente//Cognome") == "Rossi"
    assert found(root, "//CessionarioCommittente//IdFiscaleIVA") == []
    # python-a38 wants a PEC beside 0000000, but the specifications deliver a consumer's
    # invoice to her tax drawer with 0000000 and no PEC; its totals still agree.
    total, _, errors = a38_totals(document)
    assert total == Decimal("122.00")
    assert all("00426" in error for error in errors)


def test_credit_note_refers_to_its_original(fatturapa_schema: xmlschema.XMLSchema) -> None:
    original = statement()
    note = statement(
        line(2_000),
        type=DocumentType.CREDIT_NOTE,
        number="2026/18",
        progressivo=progressivo(18),
        original=OriginalDocument(number=original.number, issue_date=original.issue_date),
    )
    fatturapa_schema.validate(fattura_xml(note).decode())
    root = parsed(note)
    assert text(root, "//TipoDocumento") == "TD04"
    assert text(root, "//DatiFattureCollegate/IdDocumento") == "2026/17"
    assert text(root, "//DatiFattureCollegate/Data") == "2026-11-30"
    assert text(root, "//ImportoTotaleDocumento") == "24.40"
    assert found(root, "//DatiPagamento") == []


def test_credit_note_without_an_original_or_dated_before_it_is_refused() -> None:
    for changes, field in [
        ({}, "original"),
        (
            {"original": OriginalDocument(number="2026/99", issue_date=date(2026, 12, 1))},
            "original.issue_date",
        ),
    ]:
        with pytest.raises(ValidationError) as caught:
            statement(type=DocumentType.CREDIT_NOTE, **changes)
        assert error_fields(caught.value) == [field]
    with pytest.raises(ValidationError) as caught:
        statement(original=OriginalDocument(number="1", issue_date=date(2026, 1, 2)))
    assert error_fields(caught.value) == ["original"]


@pytest.mark.parametrize(
    ("untaxed_cents", "due"), [(7_747, False), (7_748, True), (7_000, False), (100_000, True)]
)
def test_stamp_duty_is_due_above_77_47_euros_without_vat(
    untaxed_cents: int, due: bool, fatturapa_schema: xmlschema.XMLSchema
) -> None:
    document = statement(line(untaxed_cents, rate="0", natura="N2.2"), line(50_000))
    assert document.stamp_duty is due
    fatturapa_schema.validate(fattura_xml(document).decode())
    root = parsed(document)
    assert len(found(root, "//DatiBollo")) == (1 if due else 0)
    # Borne by the workshop: the party's total is the lines and their VAT alone.
    assert document.total_cents == untaxed_cents + 50_000 + 11_000


def test_exports_and_reverse_charge_bear_no_stamp_duty() -> None:
    assert not statement(line(50_000, rate="0", natura="N3.1")).stamp_duty
    assert not statement(line(50_000, rate="0", natura="N6.9")).stamp_duty
    assert statement(line(7_748, rate="0", natura="N4")).stamp_duty


def test_stamp_duty_charged_to_the_party_is_a_line_of_the_total(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    shop = workshop(stamp_duty_charged_to_party=True)
    document = statement(line(7_748, rate="0", natura="N4"), workshop=shop)
    fatturapa_schema.validate(fattura_xml(document).decode())
    root = parsed(document)
    assert text(root, "//DettaglioLinee[2]/Descrizione") == "Imposta di bollo"
    assert text(root, "//DettaglioLinee[2]/Natura") == "N1"
    assert text(root, "//ImportoTotaleDocumento") == "79.48"
    assert text(root, "//ImportoPagamento") == "79.48"
    assert a38_totals(document)[0] == Decimal("79.48")
    below = statement(line(7_747, rate="0", natura="N4"), workshop=shop)
    assert len(below.all_lines) == 1 and below.total_cents == 7_747


def test_vat_is_rounded_half_up_once_per_summary_not_per_line() -> None:
    # Three lines of 0.05 at 10 %: 0.005 each would round to 0.01 three times; the
    # summary's 0.15 at 10 % is 0.015, rounded half up to 0.02.
    document = statement(line(5, rate="10"), line(5, rate="10"), line(5, rate="10"))
    (summary,) = document.summaries
    assert (summary.taxable_cents, summary.vat_cents) == (15, 2)
    assert document.total_cents == 17
    assert vat_cents(-15, Decimal(10)) == -2  # halves away from zero on credit lines too
    assert vat_cents(12_345, Decimal("4.5")) == 556


def test_a_rendiconto_workshop_issues_no_fattura() -> None:
    association = workshop(
        vat_number=None, fiscal_code=ORGANISATION_CF, billing_mode=BillingMode.RENDICONTO
    )
    with pytest.raises(ValidationError) as caught:
        statement(workshop=association)
    assert error_fields(caught.value) == ["workshop.billing_mode"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rate": "0"}, "natura"),
        ({"natura": "N4"}, "natura"),
        ({"rate": "22.005"}, "vat_rate"),
        ({"rate": "101"}, "vat_rate"),
        ({"natura": "N2"}, "natura"),
        ({"unit_price_cents": 5_000}, "total_cents"),
        ({"quantity": Decimal(0)}, "quantity"),
        ({"quantity": Decimal("0.000000001")}, "quantity"),
        ({"description": ""}, "description"),
        ({"description": "Stampa 3D €"}, "description"),
        ({"legal_reference": "Art. 10"}, "legal_reference"),
        ({"quantity": 0.1, "unit_price_cents": 100_000}, "quantity"),
        ({"vat_rate": 22.0}, "vat_rate"),
        ({"unit_price_cents": 10_000.0}, "unit_price_cents"),
        ({"unit_price_cents": "10000"}, "unit_price_cents"),
        ({"unit_price_cents": 10**12}, "unit_price_cents"),
    ],
)
def test_line_fields_are_checked_by_name(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        line(10_000, **changes)  # type: ignore[arg-type]
    assert error_fields(caught.value) == [field]


def test_a_statement_owing_the_party_money_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        statement(line(1_000), line(-2_000, description="Sconto soci"))
    assert error_fields(caught.value) == ["lines"]
    assert statement(line(2_000), line(-2_000, description="Sconto soci")).total_cents == 0


def test_lines_of_one_natura_citing_different_laws_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        statement(
            line(100, rate="0", natura="N4", legal_reference="Esente art. 10 n. 20 DPR 633/72"),
            line(100, rate="0", natura="N4"),
        )
    assert error_fields(caught.value) == ["lines"]


def test_document_number_and_progressivo_are_checked() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"number": "ABC"}, "number"),
        ({"number": "2026/" + "1" * 20}, "number"),
        ({"progressivo": "0001"}, "progressivo"),
        ({"progressivo": "00_01"}, "progressivo"),
        ({"progressivo": "0000h"}, "progressivo"),
        ({"lines": ()}, "lines"),
        ({"due_date": date(2026, 11, 1)}, "due_date"),
    ]
    for changes, field in cases:
        with pytest.raises(ValidationError) as caught:
            statement(**changes)
        assert error_fields(caught.value) == [field]
    assert progressivo(1) == "00001"
    assert progressivo(36**5 - 1) == "ZZZZZ"
    with pytest.raises(FiscalInputError):
        progressivo(0)
