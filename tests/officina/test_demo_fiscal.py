"""The demo month's documents in both fiscal modes: each fattura valid, every cent in its place.

One open day played flat out per mode, in-process on the embedded broker. In `fattura` mode
every statement's FatturaPA file passes the Agenzia's schema and reads back with python-a38,
and the SdI bundle and the register hold exactly those documents; in `rendiconto` mode no XML
is made and every PDF says it is no invoice. For any statement, the XML's total, the PDF's
printed total and the ledger's agree to the cent.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from pypdf import PdfReader
from stdnum import iban, luhn
from stdnum.it import codicefiscale, iva
from typer.testing import CliRunner

from officina.cli import app
from officina.showcase import ShowcaseOptions, ShowcaseReport, run_showcase
from officina.simulation.fiscal import DRAWER, workshop_profile
from officina.simulation.workshop import MEMBERS, billing_parties
from services.billing.months import Month
from services.billing.records import StoredStatement
from services.billing.store import BillingLedger
from services.fiscal import BillingMode, PartyKind
from services.ledger.parties import checked_party, flat_fields
from tests.billing.test_fiscal_documents import a38_total, cents, xml_text
from tests.fatturapa_schema import fatturapa_schema

__all__ = ["fatturapa_schema"]

OCTOBER = Month(2026, 10)
ISSUED_IN = "2026-11"  # the demo issues the morning after the month
PRINTED_TOTAL = re.compile(r"^Totale\n(?P<euros>[\d.]+,\d{2}) €$", re.MULTILINE)


@dataclass(frozen=True)
class DemoMonth:
    """A demo month as it was billed: its report, its folder and its issued statements."""

    mode: BillingMode
    report: ShowcaseReport
    folder: Path
    statements: list[StoredStatement]
    xml_names: dict[int, str]  # statement id -> its FatturaPA file's name


@pytest.fixture(scope="module")
def fattura_month(tmp_path_factory: pytest.TempPathFactory) -> DemoMonth:
    """The demo month billed by the cooperative, in fattura mode (the default)."""
    return billed_month(BillingMode.FATTURA, tmp_path_factory)


@pytest.fixture(scope="module")
def rendiconto_month(tmp_path_factory: pytest.TempPathFactory) -> DemoMonth:
    """The demo month billed by the association, in rendiconto mode."""
    return billed_month(BillingMode.RENDICONTO, tmp_path_factory)


@pytest.fixture(params=list(BillingMode), ids=str)
def demo_month(request: pytest.FixtureRequest) -> DemoMonth:
    """The demo month in each mode."""
    month: DemoMonth = request.getfixturevalue(f"{request.param}_month")
    return month


def billed_month(mode: BillingMode, tmp_path_factory: pytest.TempPathFactory) -> DemoMonth:
    """One open day of October played flat out, then billed and issued in `mode`."""
    workdir = tmp_path_factory.mktemp(f"demo-{mode}")
    report = run_showcase(
        ShowcaseOptions(month=OCTOBER, speed=None, days=1, workdir=workdir, fiscal_mode=mode),
        threading.Event(),
        lambda _live: None,
    )
    assert report.finished and report.differences == []
    ledger = BillingLedger.open(f"sqlite:///{workdir / 'officina-demo.db'}", existing=True)
    try:
        statements = ledger.statements(OCTOBER)
        names = {}
        for statement in statements:
            document = ledger.fiscal_document(statement.id)
            if document is not None:
                names[statement.id] = document.file_name
    finally:
        ledger.close()
    return DemoMonth(mode, report, workdir / "statements", statements, names)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def printed_total(path: Path) -> int:
    """The statement's total as its PDF prints it, in cents."""
    [found] = PRINTED_TOTAL.findall(pdf_text(path))
    return cents(found.replace(".", ""))


def test_every_fattura_of_the_demo_month_is_valid_and_reads_back(
    fattura_month: DemoMonth, fatturapa_schema: xmlschema.XMLSchema
) -> None:
    demo_month = fattura_month
    report, folder = demo_month.report, demo_month.folder
    assert len(demo_month.statements) == 12
    assert all(s.number is not None for s in demo_month.statements)  # issued, not drafts
    assert sorted(p.name for p in report.fatture) == sorted(demo_month.xml_names.values())
    assert len(report.fatture) == 12  # every member has at least the month's rent to pay
    assert sorted(p.name for p in folder.glob("*.xml")) == sorted(p.name for p in report.fatture)
    workshop = workshop_profile(2026)
    parties = billing_parties(2026)
    for statement in demo_month.statements:
        xml = (folder / demo_month.xml_names[statement.id]).read_bytes()
        fatturapa_schema.validate(xml.decode())
        assert a38_total(xml) == Decimal(statement.total_cents).scaleb(-2)
        assert xml_text(xml, "//DatiGeneraliDocumento/Numero") == [statement.number]
        assert xml_text(xml, "//CedentePrestatore//IdCodice") == [workshop.vat_number]
        assert xml_text(xml, "//RegimeFiscale") == ["RF01"]
        party = parties[statement.member]
        assert xml_text(xml, "//CodiceDestinatario") == [party.sdi_code]
        assert xml_text(xml, "//PECDestinatario") == ([party.pec] if party.pec else [])

    assert report.bundle == folder / f"fatture-{ISSUED_IN}.zip"
    with zipfile.ZipFile(report.bundle) as bundle:
        files = {name: bundle.read(name) for name in bundle.namelist()}
    assert files.pop("manifest.json") and files.pop("manifest.csv")
    assert files == {p.name: p.read_bytes() for p in report.fatture}

    rows = register_rows_of(folder)
    assert {row["numero"]: cents(row["totale"]) for row in rows} == {
        s.number: s.total_cents for s in demo_month.statements
    }
    assert {row["tipo"] for row in rows} == {"TD01"}
    as_json = json.loads((folder / f"registro-{ISSUED_IN}.json").read_text(encoding="utf-8"))
    assert [d["type"] for d in as_json["documents"]] == ["TD01"] * 12


def test_in_rendiconto_mode_no_xml_is_made_and_every_pdf_says_it_is_no_invoice(
    rendiconto_month: DemoMonth,
) -> None:
    demo_month = rendiconto_month
    report, folder = demo_month.report, demo_month.folder
    assert report.fatture == [] and report.bundle is None and demo_month.xml_names == {}
    assert list(folder.glob("*.xml")) == [] and list(folder.glob("*.zip")) == []
    assert len(report.pdfs) == len(demo_month.statements) == 12
    for pdf in report.pdfs:
        text = " ".join(pdf_text(pdf).split())
        assert "non costituisce fattura" in text and "Documento non fiscale" in text
        assert "Copia di cortesia" not in text
    rows = register_rows_of(folder)
    assert {row["tipo"] for row in rows} == {"rendiconto"}
    assert sum(cents(row["totale"]) for row in rows) == sum(
        s.total_cents for s in demo_month.statements
    )


def register_rows_of(folder: Path) -> list[dict[str, str]]:
    """The Italian register the demo wrote for the month of issue."""
    text = (folder / f"registro-{ISSUED_IN}.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


@hyp_settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pick=st.integers(min_value=0, max_value=11))
def test_any_statement_totals_the_same_in_its_xml_its_pdf_and_the_ledger(
    demo_month: DemoMonth, pick: int
) -> None:
    statement = demo_month.statements[pick]
    pdf = demo_month.folder / f"{OCTOBER}-{statement.member}.pdf"
    assert printed_total(pdf) == statement.total_cents
    if demo_month.mode is BillingMode.FATTURA:
        xml = (demo_month.folder / demo_month.xml_names[statement.id]).read_bytes()
        assert a38_total(xml) == Decimal(statement.total_cents).scaleb(-2)


def test_the_workshop_and_every_member_have_identifiers_the_api_accepts() -> None:
    cooperative = workshop_profile(2026)
    assert cooperative.vat_number is not None and iva.is_valid(cooperative.vat_number)
    assert iban.is_valid(cooperative.iban) and cooperative.iban.startswith("IT")
    assert cooperative.rea is not None and cooperative.rea.office == "RM"
    assert cooperative.address.comune == "Roma" and cooperative.payment_terms_days == 30
    association = workshop_profile(2026, BillingMode.RENDICONTO)
    assert association.vat_number is None and association.fiscal_code is not None
    assert luhn.is_valid(association.fiscal_code)

    parties = billing_parties(2026)
    assert sorted(parties) == sorted(m.id for m in MEMBERS)
    for party in parties.values():
        assert checked_party(flat_fields(party)) == party  # as the registry stores a party
        assert party.fiscal_code is not None and codicefiscale.is_valid(party.fiscal_code)
        if party.vat_number is not None:
            assert iva.is_valid(party.vat_number) and party.recipient_code not in {None, DRAWER}
    people = [p for p in parties.values() if p.kind is PartyKind.PERSON]
    assert any(p.pec is not None for p in people)
    assert any(p.recipient_code == DRAWER and p.vat_number is None for p in people)
    assert any(p.vat_number is not None for p in people)  # an artisan
    assert parties["coop-legno"].kind is PartyKind.ORGANISATION
    assert billing_parties(2026) == parties and billing_parties(7) != parties


def test_the_demo_refuses_a_fiscal_mode_it_does_not_know() -> None:
    result = CliRunner().invoke(app, ["demo", "--fiscal-mode", "scontrino", "--exit"])
    assert result.exit_code == 2
    assert "--fiscal-mode" in result.output
