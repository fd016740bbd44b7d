"""A fiscal document as FatturaPA 1.2.x XML (FPR12, between private parties) for the SdI.

Element order and names follow `Schema_VFPR12_v1.2.3.xsd`; only the root is in the FatturaPA
namespace (the schema's children are unqualified). Amounts are written from integer cents with
exactly two decimals, quantities with two to eight: no float is ever involved.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from services.fiscal.document import (
    STAMP_DUTY_CENTS,
    DocumentLine,
    FiscalDocument,
    Payment,
    VatSummary,
)
from services.fiscal.identifiers import NO_RECIPIENT_CODE
from services.fiscal.profiles import Address, BillingParty, PartyKind, Workshop

NAMESPACE = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
PREFIX = "p"
VERSION = "FPR12"
COUNTRY = "IT"
CURRENCY = "EUR"
PAYMENT_IN_FULL = "TP02"
BANK_TRANSFER = "MP05"
VIRTUAL_STAMP = "SI"

_CENT = Decimal("0.01")


def amount(cents: int) -> str:
    """Cents as currency units with two decimals (`1234` → `12.34`)."""
    return str(Decimal(cents).scaleb(-2).quantize(_CENT))


def quantity(value: Decimal) -> str:
    """A quantity with two to eight decimals, as `QuantitaType` wants."""
    if value == value.quantize(_CENT):
        return str(value.quantize(_CENT))
    return f"{value.normalize():f}"


def rate(value: Decimal) -> str:
    """A VAT rate in percent with two decimals (`22.00`)."""
    return str(value.quantize(_CENT))


def file_name(document: FiscalDocument) -> str:
    """The SdI file name: `IT` + the transmitter's IdCodice + `_` + the progressivo + `.xml`."""
    return f"{COUNTRY}{document.workshop.transmitter_code}_{document.progressivo}.xml"


def _add(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _address(parent: etree._Element, tag: str, address: Address) -> None:
    sede = _add(parent, tag)
    _add(sede, "Indirizzo", address.street)
    if address.civic_number is not None:
        _add(sede, "NumeroCivico", address.civic_number)
    _add(sede, "CAP", address.cap)
    _add(sede, "Comune", address.comune)
    if address.provincia is not None:
        _add(sede, "Provincia", address.provincia)
    _add(sede, "Nazione", address.nazione)


def _vat_id(parent: etree._Element, vat_number: str) -> None:
    id_fiscale = _add(parent, "IdFiscaleIVA")
    _add(id_fiscale, "IdPaese", COUNTRY)
    _add(id_fiscale, "IdCodice", vat_number)


def _transmission(header: etree._Element, document: FiscalDocument) -> None:
    dati = _add(header, "DatiTrasmissione")
    trasmittente = _add(dati, "IdTrasmittente")
    _add(trasmittente, "IdPaese", COUNTRY)
    _add(trasmittente, "IdCodice", document.workshop.transmitter_code)
    _add(dati, "ProgressivoInvio", document.progressivo)
    _add(dati, "FormatoTrasmissione", VERSION)
    _add(dati, "CodiceDestinatario", document.party.sdi_code)
    if document.party.pec is not None and document.party.sdi_code == NO_RECIPIENT_CODE:
        _add(dati, "PECDestinatario", document.party.pec)


def _seller(header: etree._Element, workshop: Workshop) -> None:
    cedente = _add(header, "CedentePrestatore")
    anagrafici = _add(cedente, "DatiAnagrafici")
    assert workshop.vat_number is not None  # a workshop in fattura mode has one
    _vat_id(anagrafici, workshop.vat_number)
    if workshop.fiscal_code is not None:
        _add(anagrafici, "CodiceFiscale", workshop.fiscal_code)
    _add(_add(anagrafici, "Anagrafica"), "Denominazione", workshop.legal_name)
    _add(anagrafici, "RegimeFiscale", workshop.regime.value)
    _address(cedente, "Sede", workshop.address)
    if workshop.rea is not None:
        rea = _add(cedente, "IscrizioneREA")
        _add(rea, "Ufficio", workshop.rea.office)
        _add(rea, "NumeroREA", workshop.rea.number)
        if workshop.rea.share_capital_cents is not None:
            _add(rea, "CapitaleSociale", amount(workshop.rea.share_capital_cents))
        if workshop.rea.sole_shareholder is not None:
            _add(rea, "SocioUnico", workshop.rea.sole_shareholder.value)
        _add(rea, "StatoLiquidazione", workshop.rea.liquidation.value)


def _buyer(header: etree._Element, party: BillingParty) -> None:
    cessionario = _add(header, "CessionarioCommittente")
    anagrafici = _add(cessionario, "DatiAnagrafici")
    if party.vat_number is not None:
        _vat_id(anagrafici, party.vat_number)
    if party.fiscal_code is not None:
        _add(anagrafici, "CodiceFiscale", party.fiscal_code)
    anagrafica = _add(anagrafici, "Anagrafica")
    if party.kind is PartyKind.ORGANISATION:
        _add(anagrafica, "Denominazione", party.name)
    else:
        _add(anagrafica, "Nome", party.first_name)
        _add(anagrafica, "Cognome", party.last_name)
    _address(cessionario, "Sede", party.address)


def _general(body: etree._Element, document: FiscalDocument) -> None:
    generali = _add(body, "DatiGenerali")
    dati = _add(generali, "DatiGeneraliDocumento")
    _add(dati, "TipoDocumento", document.type.value)
    _add(dati, "Divisa", CURRENCY)
    _add(dati, "Data", document.issue_date.isoformat())
    _add(dati, "Numero", document.number)
    if document.stamp_duty:
        bollo = _add(dati, "DatiBollo")
        _add(bollo, "BolloVirtuale", VIRTUAL_STAMP)
        _add(bollo, "ImportoBollo", amount(STAMP_DUTY_CENTS))
    _add(dati, "ImportoTotaleDocumento", amount(document.total_cents))
    if document.original is not None:
        collegata = _add(generali, "DatiFattureCollegate")
        _add(collegata, "IdDocumento", document.original.number)
        _add(collegata, "Data", document.original.issue_date.isoformat())


def _line(parent: etree._Element, number: int, line: DocumentLine) -> None:
    dettaglio = _add(parent, "DettaglioLinee")
    _add(dettaglio, "NumeroLinea", str(number))
    _add(dettaglio, "Descrizione", line.description)
    _add(dettaglio, "Quantita", quantity(line.quantity))
    _add(dettaglio, "UnitaMisura", line.unit)
    _add(dettaglio, "PrezzoUnitario", amount(line.unit_price_cents))
    _add(dettaglio, "PrezzoTotale", amount(line.total_cents))
    _add(dettaglio, "AliquotaIVA", rate(line.vat_rate))
    if line.natura is not None:
        _add(dettaglio, "Natura", line.natura.value)


def _summary(parent: etree._Element, summary: VatSummary) -> None:
    riepilogo = _add(parent, "DatiRiepilogo")
    _add(riepilogo, "AliquotaIVA", rate(summary.rate))
    if summary.natura is not None:
        _add(riepilogo, "Natura", summary.natura.value)
    _add(riepilogo, "ImponibileImporto", amount(summary.taxable_cents))
    _add(riepilogo, "Imposta", amount(summary.vat_cents))
    if summary.legal_reference is not None:
        _add(riepilogo, "RiferimentoNormativo", summary.legal_reference)


def _payment(body: etree._Element, payment: Payment) -> None:
    dati = _add(body, "DatiPagamento")
    _add(dati, "CondizioniPagamento", PAYMENT_IN_FULL)
    dettaglio = _add(dati, "DettaglioPagamento")
    _add(dettaglio, "ModalitaPagamento", BANK_TRANSFER)
    _add(dettaglio, "DataScadenzaPagamento", payment.due_date.isoformat())
    _add(dettaglio, "ImportoPagamento", amount(payment.amount_cents))
    _add(dettaglio, "IBAN", payment.iban)


def fattura_xml(document: FiscalDocument) -> bytes:
    """The document as FatturaPA FPR12 XML: UTF-8 bytes with an XML declaration."""
    root = etree.Element(f"{{{NAMESPACE}}}FatturaElettronica", nsmap={PREFIX: NAMESPACE})
    root.set("versione", VERSION)
    header = _add(root, "FatturaElettronicaHeader")
    _transmission(header, document)
    _seller(header, document.workshop)
    _buyer(header, document.party)
    body = _add(root, "FatturaElettronicaBody")
    _general(body, document)
    beni = _add(body, "DatiBeniServizi")
    for number, line in enumerate(document.all_lines, start=1):
        _line(beni, number, line)
    for summary in document.summaries:
        _summary(beni, summary)
    if document.payment is not None:
        _payment(body, document.payment)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
