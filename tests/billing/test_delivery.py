"""Statements leave the workshop: PDFs that open and show the total, e-mails a server accepts."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from harness.ports import free_port
from services.billing.allocation import AllocationKey, CostPool
from services.billing.errors import DeliveryError
from services.billing.exports import register_csv, statement_json
from services.billing.mailer import Mailer
from services.billing.months import Month
from services.billing.pdf import statement_pdf
from services.billing.records import StatementKind
from services.billing.service import Billing
from services.billing.settings import SmtpSecurity, SmtpSettings, Workshop
from services.billing.tariffs import Tariff
from tests.billing.conftest import Inbox, Shop, book, join
from tests.billing.examples import LASER, ROME, SITE, rome

OCTOBER = Month(2026, 10)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def issued_october(shop: Shop) -> None:
    """Two members, 1,234.50 € for anna: 2,469 running minutes at 0.50 €."""
    shop.billing.ledger.add_tariff(
        Tariff(valid_from=date(2026, 1, 1), site=SITE, machine=LASER, per_running_minute=500_000)
    )
    join(shop, "anna")
    join(shop, "bruno", email="bruno@example.org")
    shop.billing.ledger.set_locale("bruno", "en")
    for day in range(1, 4):
        book(shop, "anna", rome(2026, 10, day, 9), minutes=823, kwh=4)
    book(shop, "bruno", rome(2026, 10, 31, 23, 0), minutes=120, kwh=2)  # half in November
    shop.billing.ledger.add_pool(
        OCTOBER, CostPool(name="electricity", total_cents=2_600, key=AllocationKey.KWH)
    )
    shop.billing.make_drafts(OCTOBER)
    shop.billing.issue(OCTOBER)


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_the_pdf_opens_and_shows_the_total_in_the_members_language(shop: Shop) -> None:
    issued_october(shop)
    anna, bruno = shop.billing.ledger.statements(OCTOBER)
    italian = pdf_text(shop.billing.pdf(anna))
    assert "Estratto conto 2026/0001" in italian
    assert "ottobre 2026" in italian
    assert "1.234,50 €" in italian  # sessions
    assert "1.258,50 €" in italian  # plus 24.00 € of electricity (12 of 13 kWh)
    english = pdf_text(shop.billing.pdf(bruno))
    assert "Statement 2026/0002" in english
    assert "October 2026" in english
    assert "€32.00" in english  # 60 min at 0.50 € + 2.00 € of electricity
    assert "CET" in english  # the session's times say which side of DST they are on


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_draft_pdf_says_draft_and_prints_the_logo(shop: Shop, tmp_path: Path) -> None:
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (60, 30), (200, 30, 30)).save(logo)
    book(shop, "anna", rome(2026, 10, 2, 9), minutes=10)
    join(shop, "anna")
    shop.billing.make_drafts(OCTOBER)
    (draft,) = shop.billing.ledger.statements(OCTOBER)
    pdf = statement_pdf(draft, workshop=Workshop(name="Officina Comune", logo=logo), tz=ROME)
    reader = PdfReader(io.BytesIO(pdf))
    assert "BOZZA" in pdf_text(pdf)
    assert reader.pages[0].images  # the logo
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_csv_and_json_carry_the_same_totals(shop: Shop) -> None:
    issued_october(shop)
    statements = shop.billing.ledger.statements(OCTOBER)
    register = register_csv(statements, ROME, "en").splitlines()
    assert register[0].startswith("number,issued,kind")
    assert register[1].startswith("2026/0001,2026-11-02,statement,,2026-10,anna,Anna,0.00,1258.50")
    italian = register_csv(statements, ROME, "it").splitlines()
    assert italian[1].startswith("2026/0001;2026-11-02;statement;;2026-10;anna;Anna;0,00;1258,50")
    assert '"total_cents": 3200' in statement_json(statements[1])


def test_issued_statements_are_emailed_with_the_pdf(
    shop: Shop, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    issued_october(shop)
    smtp = SmtpSettings(
        host="127.0.0.1", port=port, security=SmtpSecurity.NONE, sender="cassa@officina.example"
    )
    settings = replace(shop.billing.settings, smtp=smtp)
    billing = Billing(shop.billing.ledger, settings, terminal=False)
    result = billing.send(OCTOBER, Mailer(smtp, settings.workshop))
    assert result.sent == ("2026/0001", "2026/0002")
    assert [m["To"] for m in inbox.messages] == [
        "Anna <anna@example.org>",
        "Bruno <bruno@example.org>",
    ]
    first = inbox.messages[0]
    assert "2026/0001" in first["Subject"]
    body = first.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Totale: 1.258,50\xa0€" in body.get_content()  # Babel keeps the amount and € together
    (attachment,) = list(first.iter_attachments())
    assert attachment.get_filename() == "2026-0001.pdf"
    assert "1.258,50 €" in pdf_text(attachment.get_content())
    # Sent once: a second run finds nothing left to send.
    assert billing.send(OCTOBER, Mailer(smtp, settings.workshop)).sent == ()
    assert len(inbox.messages) == 2
    note = shop.billing.credit("2026/0002", reason="wrong machine")
    assert note.kind is StatementKind.CREDIT_NOTE
    assert billing.send(None, Mailer(smtp, settings.workshop)).sent == ("2026/0003",)
    assert "Credit note 2026/0003" in inbox.messages[-1]["Subject"]


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_mail_server_that_is_down_leaves_statements_to_send_later(shop: Shop) -> None:
    issued_october(shop)
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=free_port(),
        security=SmtpSecurity.NONE,
        sender="cassa@officina.example",
        timeout_s=2,
    )
    with pytest.raises(DeliveryError, match=r"SMTP 127\.0\.0\.1"):
        shop.billing.send(OCTOBER, Mailer(smtp, shop.billing.settings.workshop))
    assert len(shop.billing.ledger.unsent(OCTOBER)) == 2
    assert [run.outcome for run in shop.billing.ledger.runs(OCTOBER)][-1] == "failed"
