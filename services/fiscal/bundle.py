"""A month of FatturaPA files as one zip, with a manifest, to hand to an SdI intermediary.

The zip holds each document's XML under its SdI file name, `manifest.json` and `manifest.csv`
(one row per file: what it is, for whom, its totals and its SHA-256). The same documents always
make the same bytes: entries carry the first of the month as their time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Sequence

from services.fiscal.document import FiscalDocument
from services.fiscal.errors import FiscalInputError
from services.fiscal.fatturapa import amount, fattura_xml, file_name

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


def monthly_bundle(month: str, documents: Sequence[FiscalDocument]) -> bytes:
    """The month's documents as zip bytes: one XML each, and the manifest as JSON and CSV."""
    match = _MONTH.fullmatch(month)
    if match is None:
        raise FiscalInputError("month", f"{month!r} is not a month (YYYY-MM)")
    year, number = int(match[1]), int(match[2])
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
    manifest = {"month": month, "documents": rows}
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    entries.append((MANIFEST_JSON, json.dumps(manifest, indent=1, ensure_ascii=False).encode()))
    entries.append((MANIFEST_CSV, table.getvalue().encode()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(year, number, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()
