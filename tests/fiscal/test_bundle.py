"""A month's FatturaPA files travel as one zip with a manifest an intermediary can read."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import date

import pytest
import xmlschema

from services.fiscal.bundle import MANIFEST_COLUMNS, monthly_bundle, stored_bundle
from services.fiscal.document import FiscalDocument, progressivo
from services.fiscal.errors import FiscalInputError
from services.fiscal.fatturapa import fattura_xml
from tests.fiscal.examples import line, person, statement


def month_of_documents() -> list[FiscalDocument]:
    """Two statements of November 2026: a company's and a person's."""
    return [
        statement(line(10_000)),
        statement(
            line(9_000, rate="0", natura="N2.2"),
            number="2026/18",
            progressivo=progressivo(18),
            party=person(),
            issue_date=date(2026, 11, 1),
        ),
    ]


def test_bundle_holds_each_xml_and_a_manifest_of_their_totals(
    fatturapa_schema: xmlschema.XMLSchema,
) -> None:
    documents = month_of_documents()
    archive = zipfile.ZipFile(io.BytesIO(monthly_bundle("2026-11", documents)))
    assert archive.namelist() == [
        "IT12345670017_0000H.xml",
        "IT12345670017_0000I.xml",
        "manifest.json",
        "manifest.csv",
    ]
    for document, name in zip(documents, archive.namelist(), strict=False):
        xml = archive.read(name)
        assert xml == fattura_xml(document)
        fatturapa_schema.validate(xml.decode())
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["month"] == "2026-11"
    first, second = manifest["documents"]
    assert first["total"] == "122.00" and first["vat"] == "22.00" and first["stamp_duty"] == "NO"
    assert second["party"] == "Mario Rossi" and second["recipient_code"] == "0000000"
    assert second["total"] == "90.00" and second["stamp_duty"] == "SI"
    xml = archive.read(second["file"])
    assert second["sha256"] == hashlib.sha256(xml).hexdigest()
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    assert rows == manifest["documents"]


def test_same_documents_make_the_same_bytes() -> None:
    assert monthly_bundle("2026-11", month_of_documents()) == monthly_bundle(
        "2026-11", month_of_documents()
    )


def test_bundle_refuses_other_months_twice_used_progressivi_and_bad_months() -> None:
    documents = month_of_documents()
    with pytest.raises(FiscalInputError) as caught:
        monthly_bundle("2026-12", documents)
    assert caught.value.field == "documents[0].issue_date"
    with pytest.raises(FiscalInputError) as caught:
        monthly_bundle("2026-11", [documents[0], documents[0]])
    assert caught.value.field == "documents[1].progressivo"
    with pytest.raises(FiscalInputError) as caught:
        monthly_bundle("2026-13", documents)
    assert caught.value.field == "month"


def test_an_empty_month_is_a_manifest_alone() -> None:
    archive = zipfile.ZipFile(io.BytesIO(monthly_bundle("2026-02", [])))
    assert archive.namelist() == ["manifest.json", "manifest.csv"]
    assert json.loads(archive.read("manifest.json"))["documents"] == []


def test_stored_files_bundle_byte_for_byte_with_the_manifest_their_documents_would_make() -> None:
    documents = month_of_documents()
    made = zipfile.ZipFile(io.BytesIO(monthly_bundle("2026-11", documents)))
    files = [(name, made.read(name)) for name in made.namelist() if name.endswith(".xml")]
    stored = zipfile.ZipFile(io.BytesIO(stored_bundle("2026-11", files)))
    assert stored.namelist() == made.namelist()
    for name in stored.namelist():
        assert stored.read(name) == made.read(name)


@pytest.mark.parametrize(
    ("files", "field"),
    [
        ([("a.xml", b"<not-xml")], "files[0]"),
        ([("a.xml", b"<FatturaElettronica/>")], "files[0]"),
        ([("a.xml", fattura_xml(statement(line(100))))] * 2, "files[1]"),
    ],
)
def test_stored_files_that_are_not_the_months_fatture_are_refused_by_name(
    files: list[tuple[str, bytes]], field: str
) -> None:
    with pytest.raises(FiscalInputError) as refused:
        stored_bundle("2026-11", files)
    assert refused.value.field == field
    with pytest.raises(FiscalInputError) as refused:
        stored_bundle("2026-12", files[:1])
    assert refused.value.field.startswith("files[0]")
