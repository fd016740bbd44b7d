"""A month of FatturaPA files as one zip, with a manifest, to hand to an SdI intermediary.

The zip holds each document's XML under its SdI file name, `manifest.json` and `manifest.csv`
(one row per file: what it is, for whom, its totals and its SHA-256). The same documents always
make the same bytes: entries carry the first of the month as their time. `stored_bundle` packs
files kept since they were issued, as they are, and reads its manifest back from their XML.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from lxml import etree

from services.fiscal.document import FiscalDocument
from services.fiscal.errors import FiscalInputError
from services.fiscal.fatturapa import NAMESPACE, amount, fattura_xml, file_name

MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
MANIFEST_COLUMNS = (
    "file",
    "type",
    "number",
    "date",
    "party",
    "party_fiscal_code",
    "party_vat_number",
    "recipient_code",
    "pec",
    "taxable",
    "vat",
    "total",
    "stamp_duty",
    "sha256",
)

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def _row(document: FiscalDocument, name: str, xml: bytes) -> dict[str, str]:
    summaries = document.summaries
    party = document.party
    return {
        "file": name,
        "type": document.type.value,
        "number": document.number,
        "date": document.issue_date.isoformat(),
        "party": party.display_name,
        "party_fiscal_code": party.fiscal_code or "",
        "party_vat_number": party.vat_number or "",
        "recipient_code": party.sdi_code,
        "pec": party.pec or "",
        "taxable": amount(sum(s.taxable_cents for s in summaries)),
        "vat": amount(sum(s.vat_cents for s in summaries)),
        "total": amount(document.total_cents),
        "stamp_duty": "SI" if document.stamp_duty else "NO",
        "sha256": hashlib.sha256(xml).hexdigest(),
    }


def _month(month: str) -> tuple[int, int]:
    match = _MONTH.fullmatch(month)
    if match is None:
        raise FiscalInputError("month", f"{month!r} is not a month (YYYY-MM)")
    return int(match[1]), int(match[2])


def monthly_bundle(month: str, documents: Sequence[FiscalDocument]) -> bytes:
    """The month's documents as zip bytes: one XML each, and the manifest as JSON and CSV."""
    year, number = _month(month)
    entries: list[tuple[str, bytes]] = []
    rows: list[dict[str, str]] = []
    for index, document in enumerate(documents):
        if (document.issue_date.year, document.issue_date.month) != (year, number):
            raise FiscalInputError(f"documents[{index}].issue_date", f"is not in {month}")
        name = file_name(document)
        if any(name == seen for seen, _ in entries):
            raise FiscalInputError(f"documents[{index}].progressivo", f"{name} is twice")
        xml = fattura_xml(document)
        entries.append((name, xml))
        rows.append(_row(document, name, xml))
    return _pack(month, entries, rows)


def stored_bundle(month: str, files: Sequence[tuple[str, bytes]]) -> bytes:
    """Stored FatturaPA files (name, XML) as the month's zip, byte for byte as they were made."""
    year, number = _month(month)
    entries: list[tuple[str, bytes]] = []
    rows: list[dict[str, str]] = []
    for index, (name, xml) in enumerate(files):
        if any(name == seen for seen, _ in entries):
            raise FiscalInputError(f"files[{index}]", f"{name} is twice")
        row = _row_of_xml(name, xml, f"files[{index}]")
        if not row["date"].startswith(f"{year:04d}-{number:02d}-"):
            raise FiscalInputError(f"files[{index}].date", f"is not in {month}")
        entries.append((name, xml))
        rows.append(row)
    return _pack(month, entries, rows)


def _texts(root: etree._Element, path: str) -> list[str]:
    found = root.xpath(path)
    assert isinstance(found, list)
    return [node.text or "" for node in found if isinstance(node, etree._Element)]


def _row_of_xml(name: str, xml: bytes, field: str) -> dict[str, str]:
    """A manifest row read from a FatturaPA file's own elements."""
    try:
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as err:
        raise FiscalInputError(field, "is not FatturaPA XML") from err
    if root.tag != f"{{{NAMESPACE}}}FatturaElettronica":
        raise FiscalInputError(field, "is not FatturaPA XML")

    def one(path: str) -> str:
        texts = _texts(root, path)
        return texts[0] if texts else ""

    def total(path: str) -> str:
        try:
            cents = sum(int(Decimal(text).scaleb(2)) for text in _texts(root, path))
        except InvalidOperation as err:
            raise FiscalInputError(field, f"{path} is not an amount") from err
        return amount(cents)

    party = "FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici"
    document = "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento"
    summary = "FatturaElettronicaBody/DatiBeniServizi/DatiRiepilogo"
    names = _texts(root, f"{party}/Anagrafica/Denominazione") or [
        " ".join(
            _texts(root, f"{party}/Anagrafica/Nome") + _texts(root, f"{party}/Anagrafica/Cognome")
        )
    ]
    return {
        "file": name,
        "type": one(f"{document}/TipoDocumento"),
        "number": one(f"{document}/Numero"),
        "date": one(f"{document}/Data"),
        "party": names[0],
        "party_fiscal_code": one(f"{party}/CodiceFiscale"),
        "party_vat_number": one(f"{party}/IdFiscaleIVA/IdCodice"),
        "recipient_code": one("FatturaElettronicaHeader/DatiTrasmissione/CodiceDestinatario"),
        "pec": one("FatturaElettronicaHeader/DatiTrasmissione/PECDestinatario"),
        "taxable": total(f"{summary}/ImponibileImporto"),
        "vat": total(f"{summary}/Imposta"),
        "total": amount(int(Decimal(one(f"{document}/ImportoTotaleDocumento") or "0").scaleb(2))),
        "stamp_duty": "SI" if one(f"{document}/DatiBollo/BolloVirtuale") else "NO",
        "sha256": hashlib.sha256(xml).hexdigest(),
    }


def _pack(month: str, entries: list[tuple[str, bytes]], rows: list[dict[str, str]]) -> bytes:
    year, number = _month(month)
    manifest = {"month": month, "documents": rows}
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    entries = [
        *entries,
        (MANIFEST_JSON, json.dumps(manifest, indent=1, ensure_ascii=False).encode()),
        (MANIFEST_CSV, table.getvalue().encode()),
    ]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(year, number, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()
