"""In fattura mode each issued statement and credit note keeps its FatturaPA file in the ledger.

The files are made in the transaction that numbers the statements, on SQLite and PostgreSQL:
checked against the Agenzia's schema, read back by python-a38, their progressivi without a gap,
and a refusal (no party, no way to deliver, a profile billing cannot honour) numbers nothing.
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from services.billing.allocation import AllocationKey, CostPool
from services.billing.cli import app
from services.billing.errors import BillingInputError
from services.billing.fiscal import NotAFiscalDocumentError
from services.billing.months import Month
from services.billing.records import StatementKind, StatementStatus
from services.billing.register import register_csv, register_rows
from services.billing.service import Billing
from services.billing.settings import BillingSettings, Workshop
from services.billing.store import BillingLedger
from services.billing.tariffs import Tariff
from services.fiscal import BillingMode, BillingParty, Locale, progressivo
from services.ledger import Registry, SessionBook
from services.ledger.models import MemberRow
from services.ledger.parties import add_party
from tests.billing.conftest import Clock, Shop, book, join
from tests.billing.examples import ROME, rome
from tests.billing.test_fiscal_documents import a38_total, cents, xml_text
from tests.billing.test_issue_one import fresh_shop
from tests.fatturapa_schema import fatturapa_schema
from tests.fiscal.examples import PEC, company, person, workshop

__all__ = ["fatturapa_schema"]

OCTOBER = Month(2026, 10)
NOVEMBER = Month(2026, 11)  # the shop's clock issues on 2 November
MEMBERS = ("anna", "bruno", "carla")


def fattura_billing(shop: Shop, **profile: object) -> Billing:
    """The shop's ledger billed by a workshop whose fiscal profile says fattura."""
    settings = BillingSettings(
        workshop=Workshop(name="Officina Condivisa", fiscal=workshop(**profile))
    )
    return Billing(shop.billing.ledger, settings, terminal=False)


def give_party(shop: Shop, member: str, party: BillingParty) -> None:
    """Add a member's (default) billing party, as the registry's pages do."""
    with Session(shop.billing.ledger.engine) as db, db.begin():
        row = db.get(MemberRow, member)
        assert row is not None
        now = datetime(2026, 10, 1, tzinfo=UTC)
        add_party(db, row, label="fatture", party=party, default=True, now=now)


def october_drafts(shop: Shop, billing: Billing, *, rent_cents: int = 30_001) -> None:
    """Three members on the laser (22 %), an exempt rent split equally; October drafted."""
    ledger = billing.ledger
    ledger.add_tariff(Tariff(valid_from=date(2026, 1, 1), per_running_minute=350_000, vat_bp=2200))
    for n, member in enumerate(MEMBERS):
        join(shop, member)
        book(shop, member, rome(2026, 10, 6 + n, 10), minutes=45 + n, running_minutes=30 + n)
    ledger.add_pool(
        OCTOBER, CostPool(name="affitto", total_cents=rent_cents, key=AllocationKey.EQUAL)
    )
    billing.make_drafts(OCTOBER)


def numbers_taken(billing: Billing) -> list[str | None]:
    """The numbers of October's statements (None while a draft)."""
    return [s.number for s in billing.ledger.statements(OCTOBER)]


def test_issuing_in_fattura_mode_stores_each_statements_valid_xml_to_the_cent(
    shop: Shop, fatturapa_schema: xmlschema.XMLSchema
) -> None:
    billing = fattura_billing(shop)
    october_drafts(shop, billing)
    give_party(shop, "anna", person(pec=PEC))
    give_party(shop, "bruno", company())
    give_party(shop, "carla", person(first_name="Carla", recipient_code="ABC1234"))
    assert billing.issue(OCTOBER) == ["2026/0001", "2026/0002", "2026/0003"]

    for n, statement in enumerate(billing.ledger.statements(OCTOBER), start=1):
        stored = billing.fiscal_document(statement)
        fatturapa_schema.validate(stored.xml.decode())
        assert a38_total(stored.xml) == Decimal(statement.total_cents).scaleb(-2)
        assert (stored.type, stored.progressivo) == ("TD01", f"0000{n}")
        assert stored.file_name == f"IT12345670017_0000{n}.xml"
        assert xml_text(stored.xml, "//DatiGeneraliDocumento/Numero") == [statement.number]
    anna = billing.fiscal_document(billing.ledger.statement("2026/0001"))
    assert xml_text(anna.xml, "//PECDestinatario") == [PEC]
    assert anna.party == person(pec=PEC)


def test_a_credit_note_is_a_td04_to_the_same_party_next_in_the_series(
    shop: Shop, fatturapa_schema: xmlschema.XMLSchema
) -> None:
    billing = fattura_billing(shop)
    october_drafts(shop, billing)
    for member in MEMBERS:
        give_party(shop, member, company())
    billing.issue(OCTOBER)
    note = billing.credit("2026/0002", reason="Laser guasto", net_cents=1_000, vat_bp=2200)
    stored = billing.fiscal_document(note)
    fatturapa_schema.validate(stored.xml.decode())
    assert (stored.type, stored.progressivo) == ("TD04", "00004")
    assert a38_total(stored.xml) == Decimal(-note.total_cents).scaleb(-2) == Decimal("12.20")
    assert xml_text(stored.xml, "//DatiFattureCollegate/IdDocumento") == ["2026/0002"]
    assert stored.party == company()


@pytest.mark.parametrize(
    ("carla", "field"),
    [
        (None, "party"),
        (person(first_name="Carla"), "recipient_code"),  # no SdI code and no PEC
    ],
)
def test_a_member_the_sdi_cannot_reach_refuses_the_month_and_numbers_nothing(
    shop: Shop, carla: BillingParty | None, field: str
) -> None:
    billing = fattura_billing(shop)
    october_drafts(shop, billing)
    give_party(shop, "anna", company())
    give_party(shop, "bruno", company())
    if carla is not None:
        give_party(shop, "carla", carla)
    with pytest.raises(BillingInputError) as refused:
        billing.issue(OCTOBER)
    assert refused.value.field == field and "carla" in refused.value.reason
    assert numbers_taken(billing) == [None, None, None]
    assert billing.ledger.month_fiscal_documents(NOVEMBER, billing.tz) == []
    [run] = [r for r in billing.ledger.runs(OCTOBER) if r.step == "issue"]
    assert run.outcome == "failed"

    # Carla can be reached now: the month is issued from 2026/0001 and progressivo 00001.
    give_party(shop, "carla", person(first_name="Carla", pec=PEC))
    assert billing.issue(OCTOBER) == ["2026/0001", "2026/0002", "2026/0003"]
    documents = billing.ledger.month_fiscal_documents(NOVEMBER, billing.tz)
    assert [d.progressivo for d in documents] == ["00001", "00002", "00003"]


def test_a_profile_billing_cannot_honour_is_refused_midway_and_leaves_no_gap(
    shop: Shop,
) -> None:
    # Rent of 200.01 EUR each is exempt: stamp duty is due, which this profile puts on the
    # member though statements do not carry it. The numbers are taken when the first document
    # fails; the transaction gives them back, so the next issue starts again from 0001.
    refusing = fattura_billing(shop, stamp_duty_charged_to_party=True)
    october_drafts(shop, refusing, rent_cents=60_003)
    for member in MEMBERS:
        give_party(shop, member, company())
    with pytest.raises(BillingInputError) as refused:
        refusing.issue(OCTOBER)
    assert refused.value.field == "workshop.stamp_duty_charged_to_party"
    assert numbers_taken(refusing) == [None, None, None]

    billing = fattura_billing(shop)
    billing.issue_statement(refusing.ledger.statements(OCTOBER)[1].id)
    billing.issue(OCTOBER)
    documents = billing.ledger.month_fiscal_documents(NOVEMBER, billing.tz)
    assert [(d.progressivo, d.statement_id) for d in documents] == [
        (f"0000{n}", s.id)
        for n, s in enumerate(
            sorted(billing.ledger.statements(OCTOBER), key=lambda s: s.number or ""), start=1
        )
    ]


def test_the_bundle_holds_exactly_the_stored_files_and_rendiconto_stores_none(
    shop: Shop,
) -> None:
    billing = fattura_billing(shop)
    october_drafts(shop, billing)
    for member in MEMBERS:
        give_party(shop, member, company())
    [draft, *_] = billing.ledger.statements(OCTOBER)
    with pytest.raises(NotAFiscalDocumentError, match="draft"):
        billing.fiscal_document(draft)
    billing.issue(OCTOBER)
    stored = billing.ledger.month_fiscal_documents(NOVEMBER, billing.tz)
    with zipfile.ZipFile(io.BytesIO(billing.fiscal_bundle(NOVEMBER))) as bundle:
        files = {name: bundle.read(name) for name in bundle.namelist()}
    assert files.pop("manifest.json") and files.pop("manifest.csv")
    assert files == {d.file_name: d.xml for d in stored}
    assert billing.ledger.month_fiscal_documents(OCTOBER, billing.tz) == []

    # The same ledger billed as an association: a credit note is issued, and is no fattura.
    association = Billing(shop.billing.ledger, BillingSettings(), terminal=False)
    note = association.credit("2026/0001", reason="errore")
    assert note.status is StatementStatus.ISSUED
    with pytest.raises(NotAFiscalDocumentError, match="rendiconto"):
        association.fiscal_document(note)


FATTURA_TOML = """
[billing.workshop]
name = "Officina Condivisa"

[billing.workshop.fiscal]
legal_name = "Officina Condivisa Soc. Coop."
vat_number = "12345670017"
iban = "IT60X0542811101000000123456"
billing_mode = "fattura"
address = { street = "Via della Meccanica", cap = "10121", comune = "Torino", provincia = "TO" }
"""


def test_the_command_line_issues_fatture_writes_the_bundle_and_prints_the_register(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = Clock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    ledger = BillingLedger.open(sqlite_url, clock=clock)
    billing = Billing(ledger, BillingSettings(), terminal=False)
    shop = Shop(SessionBook(ledger.engine), Registry(ledger.engine), billing, clock)
    october_drafts(shop, shop.billing)
    for member in MEMBERS:
        give_party(shop, member, company())
    ledger.close()
    config = tmp_path / "officina.toml"
    config.write_text(FATTURA_TOML, encoding="utf-8")

    def officina(*args: str) -> str:
        result = CliRunner().invoke(app, [*args, "--ledger", sqlite_url, "--config", str(config)])
        assert result.exit_code == 0, result.output
        return result.output

    assert "2026/0001 to 2026/0003" in officina("statements", "issue", "--month", "2026-10")
    issued_in = datetime.now(ROME).strftime("%Y-%m")  # the command line issues today
    out = tmp_path / "bundle.zip"
    assert "3 FatturaPA files" in officina(
        "statements", "fiscal-bundle", issued_in, "--out", str(out)
    )
    with zipfile.ZipFile(out) as bundle:
        assert sorted(n for n in bundle.namelist() if n.endswith(".xml")) == [
            f"IT12345670017_0000{n}.xml" for n in (1, 2, 3)
        ]
    register = officina("statements", "register", issued_in, "--lang", "it")
    rows = list(csv.DictReader(io.StringIO(register), delimiter=";"))
    reader = BillingLedger.open(sqlite_url)
    issued = reader.statements(OCTOBER)
    reader.close()
    assert {r["numero"]: cents(r["totale"]) for r in rows} == {
        s.number: s.total_cents for s in issued
    }
    as_json = json.loads(officina("statements", "register", issued_in, "--format", "json"))
    assert [d["type"] for d in as_json["documents"]] == ["TD01"] * 3
    refused = CliRunner().invoke(app, ["statements", "register", "2026-13", "--ledger", sqlite_url])
    assert refused.exit_code == 2 and "MONTH" in refused.output


@hyp_settings(max_examples=8, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=4),  # minutes each
    st.integers(min_value=1, max_value=3_000_000),  # micro-euros per running minute
    st.sampled_from((0, 400, 1000, 2200)),
    st.integers(min_value=0, max_value=99_999),  # an exempt pool, in cents
    st.randoms(use_true_random=False),
)
def test_any_month_issued_as_fatture_keeps_every_cent_in_its_stored_files(
    minutes: list[int], price: int, vat_bp: int, pool_cents: int, chance: random.Random
) -> None:
    with fresh_shop() as shop:
        billing = fattura_billing(shop)
        billing.ledger.add_tariff(
            Tariff(valid_from=date(2026, 1, 1), per_running_minute=price, vat_bp=vat_bp)
        )
        for n, used in enumerate(minutes):
            join(shop, f"m{n}")
            give_party(shop, f"m{n}", company())
            book(shop, f"m{n}", rome(2026, 10, 5 + n, 9), minutes=used)
        if pool_cents:
            pool = CostPool(name="affitto", total_cents=pool_cents, key=AllocationKey.EQUAL)
            billing.ledger.add_pool(OCTOBER, pool)
        billing.make_drafts(OCTOBER)
        order = [s.id for s in billing.ledger.statements(OCTOBER)]
        chance.shuffle(order)
        for statement_id in order:
            billing.issue_statement(statement_id)
        issued = billing.ledger.statements(OCTOBER)
        for statement in chance.sample(issued, k=len(issued) // 2 + 1):
            if statement.net_cents:
                assert statement.number is not None
                billing.credit(statement.number, reason="errore")

        everything = sorted(billing.ledger.statements(OCTOBER), key=lambda s: s.number or "")
        documents = billing.ledger.month_fiscal_documents(NOVEMBER, billing.tz)
        assert [d.statement_id for d in documents] == [s.id for s in everything]
        assert [d.progressivo for d in documents] == [
            progressivo(n) for n in range(1, len(everything) + 1)
        ]
        for statement, document in zip(everything, documents, strict=True):
            sign = -1 if statement.kind is StatementKind.CREDIT_NOTE else 1
            assert a38_total(document.xml) == Decimal(sign * statement.total_cents).scaleb(-2)
        rows = register_rows(everything, {s.id: company() for s in everything}, BillingMode.FATTURA)
        register = csv.DictReader(io.StringIO(register_csv(rows, Locale.IT)), delimiter=";")
        assert sum(cents(row["totale"]) for row in register) == sum(
            s.total_cents for s in everything
        )


def test_the_fiscal_commands_only_read_and_never_make_a_ledger(tmp_path: Path) -> None:
    missing = tmp_path / "typo.sqlite3"
    for args in (
        ["statements", "register", "2026-11"],
        ["statements", "fiscal-bundle", "2026-11", "--out", str(tmp_path / "b.zip")],
    ):
        result = CliRunner().invoke(app, [*args, "--ledger", f"sqlite:///{missing}"])
        assert result.exit_code == 1, result.output
        assert not missing.exists() and not (tmp_path / "b.zip").exists()


def test_the_pdf_of_an_issued_fattura_is_the_courtesy_copy_with_both_parties(
    shop: Shop,
) -> None:
    billing = fattura_billing(shop)
    october_drafts(shop, billing)
    for member in MEMBERS:
        give_party(shop, member, company())
    billing.issue(OCTOBER)
    note = billing.credit("2026/0002", reason="Laser guasto", net_cents=1_000, vat_bp=2200)

    statement = " ".join(pdf_text(billing.pdf(billing.ledger.statement("2026/0002"))).split())
    assert "Officina Condivisa Soc. Coop." in statement and "Rossi Prototipi S.r.l." in statement
    assert "Copia di cortesia della fattura elettronica n. 2026/0002" in statement
    assert "Pagina 1 / " in statement
    credit = " ".join(pdf_text(billing.pdf(note)).split())
    assert "Nota di credito" in credit and "2026/0002" in credit
    # Without a fiscal profile the same statement is today's statement: no courtesy-copy wording.
    plain = Billing(shop.billing.ledger, BillingSettings(), terminal=False)
    assert "Copia di cortesia" not in pdf_text(plain.pdf(billing.ledger.statement("2026/0002")))


def pdf_text(pdf: bytes) -> str:
    """Every page's text, in order."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
