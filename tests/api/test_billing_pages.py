"""The treasurer's pages: a month's statements drafted, issued, credited and sent from the pages.

Each action is a form posted with the page's CSRF value and answered by a redirect back; it goes
through billing's service, so the run log names the login that did it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from contract import EndReason, SessionRecord
from harness.mosquitto import MosquittoServer
from harness.ports import LOOPBACK, free_port
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from services.billing.allocation import AllocationKey, CostPool
from services.billing.months import Month
from services.billing.settings import BillingSettings, SmtpSecurity, SmtpSettings
from services.billing.tariffs import Tariff
from services.ledger import SessionBook
from tests.api.chromium import Chromium
from tests.api.conftest import (
    PASSWORD,
    Api,
    add_login_directly,
    book_session,
    make_settings,
    running_api,
    seed_registry,
    seed_registry_of,
    served_api,
)
from tests.billing.conftest import Inbox
from tests.waiting import eventually

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

MONTH = "2026-03"
STARTED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def browse_as(api: Api, username: str, role: Role, member: str | None = None) -> str:
    """Log in as the login page does (the client keeps the cookie); returns the page's CSRF."""
    api.add_login(username, role, member=member)
    answer = api.client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200
    return str(answer.json()["csrf"])


def seed_month(api: Api) -> None:
    """Giulia used the lathe for 30 minutes (20 running) at 0.50 €/min; 100 € of electricity."""
    seed_registry(api)
    staff = api.add_login("seeder", Role.COORDINATOR)
    tariff = {
        "valid_from": "2026-01-01",
        "machine": "lathe-1",
        "per_running_minute": "0,50",
        "vat": "22",
    }
    assert api.client.post("/api/v1/tariffs", json=tariff, headers=staff).status_code == 201
    book_session(api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=30)
    pool = {"month": MONTH, "name": "Luce", "total": "100.00", "key": "kwh"}
    assert api.client.post("/api/v1/cost-pools", json=pool, headers=staff).status_code == 201


def post(api: Api, path: str, csrf: str | None, **fields: str) -> tuple[int, str]:
    """Post a page's form; the status and where it sends the browser (or the page's text)."""
    body = dict(fields, csrf=csrf) if csrf is not None else fields
    answer = api.client.post(path, data=body, follow_redirects=False)
    return answer.status_code, answer.headers.get("location", answer.text)


def drafted(api: Api, csrf: str) -> int:
    """Draft the month from its page; the id of giulia's draft."""
    assert post(api, "/manage/statements/drafts", csrf, month=MONTH) == (
        303,
        f"/manage/statements?month={MONTH}&done=drafted",
    )
    (statement,) = api.state.billing.ledger.statements(Month.parse(MONTH))
    return statement.id


def test_an_admin_drafts_issues_and_credits_from_the_pages_and_the_run_log_says_who(
    api: Api,
) -> None:
    seed_month(api)
    csrf = browse_as(api, "treasurer", Role.ADMIN)
    statement_id = drafted(api, csrf)

    listed = api.client.get(f"/manage/statements?month={MONTH}&lang=en")
    assert listed.status_code == 200
    assert "Giulia Rossi" in listed.text and "Draft" in listed.text
    # 20 running minutes at 0.50 = 10.00 + 22 % VAT, and all of the electricity: 112.20.
    assert "€112.20" in listed.text

    page = api.client.get(f"/manage/statements/{statement_id}?lang=en").text
    assert "Tornio" in page and ">lathe-1<" not in page  # the machine by name
    assert "badged out" in page  # the session's end reason in words
    assert "Luce" in page and "Metered kWh" in page
    assert "20.0 min" in page and "30.0 min" in page  # running of unlocked, with units
    assert "0.12 kWh" in page

    assert post(api, f"/manage/statements/{statement_id}/issue", csrf) == (
        303,
        f"/manage/statements/{statement_id}?done=issued",
    )
    issued = api.client.get(f"/manage/statements/{statement_id}?done=issued&lang=en").text
    assert "Statement issued" in issued and 'data-status="issued"' in issued
    (original,) = api.state.billing.ledger.statements(Month.parse(MONTH))
    assert original.number is not None and original.number.endswith("/0001")
    assert original.lines[0].name == "Tornio"  # kept on the line: the document stays as issued

    status, location = post(
        api, f"/manage/statements/{statement_id}/credit", csrf, reason="lathe broke mid-job"
    )
    assert status == 303 and location.endswith("?done=credited")
    note_id = int(re.findall(r"/manage/statements/(\d+)", location)[0])
    note = api.state.billing.ledger.statement_by_id(note_id)
    assert note is not None and note.credits_number == original.number
    assert (note.net_cents, note.vat_cents, note.total_cents) == (
        -original.net_cents,
        -original.vat_cents,
        -original.total_cents,
    )
    listed = api.client.get(f"/manage/statements?month={MONTH}&lang=en").text
    assert f'Credited by <a href="/manage/statements/{note_id}">{note.number}</a>' in listed
    credit_page = api.client.get(f"/manage/statements/{note_id}?lang=en").text
    assert f'<a href="/manage/statements/{statement_id}">{original.number}</a>' in credit_page
    assert "lathe broke mid-job" in credit_page and "-€112.20" in credit_page
    runs = api.state.billing.ledger.runs(Month.parse(MONTH))
    assert [(run.step, run.outcome, run.by) for run in runs] == [
        ("draft", "done", "treasurer"),
        ("issue", "done", "treasurer"),
        ("credit", "done", "treasurer"),
    ]

    pdf = api.client.get(f"/manage/statements/{statement_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "giulia" in pdf.headers["content-disposition"]
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Tornio" in text and "lathe-1" not in text
    csv = api.client.get(f"/manage/statements/{statement_id}/csv")
    assert csv.status_code == 200 and csv.text.startswith("number,")


def test_a_coordinator_reviews_and_drafts_but_may_not_issue_or_credit(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_month(api)
    csrf = browse_as(api, "coord", Role.COORDINATOR)
    statement_id = drafted(api, csrf)

    page = api.client.get(f"/manage/statements/{statement_id}")
    assert page.status_code == 200 and 'id="issue"' not in page.text
    assert api.client.get("/manage/review").status_code == 200
    status, text = post(api, f"/manage/statements/{statement_id}/issue", csrf)
    assert status == 403 and 'data-field="role"' in text
    status, text = post(api, "/manage/statements/issue", csrf, month=MONTH)
    assert status == 403
    status, text = post(api, f"/manage/statements/{statement_id}/credit", csrf, reason="x")
    assert status == 403
    (statement,) = api.state.billing.ledger.statements(Month.parse(MONTH))
    assert statement.number is None


def test_a_member_is_refused_and_a_visitor_is_sent_to_log_in(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_month(api)
    anonymous = api.client.get("/manage/statements", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert api.client.post("/manage/statements/1/issue", follow_redirects=False).status_code in {
        303,
        401,
    }
    csrf = browse_as(api, "giulia", Role.MEMBER, member="giulia")
    for path in ("/manage/statements", "/manage/statements/1", "/manage/review"):
        assert api.client.get(path).status_code == 403
    assert post(api, "/manage/statements/drafts", csrf, month=MONTH)[0] == 403
    assert api.state.billing.ledger.statements(Month.parse(MONTH)) == []


def test_an_action_without_the_pages_csrf_value_is_refused(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_month(api)
    csrf = browse_as(api, "treasurer", Role.ADMIN)
    statement_id = drafted(api, csrf)
    for value in (None, "", "0" * 64):
        status, text = post(api, f"/manage/statements/{statement_id}/issue", value)
        assert status == 403 and 'data-field="csrf"' in text
    status, _ = post(api, "/manage/statements/drafts", None, month=MONTH)
    assert status == 403
    (statement,) = api.state.billing.ledger.statements(Month.parse(MONTH))
    assert statement.number is None
    assert api.state.rejections.snapshot()["csrf"] == 4


def test_garbage_is_a_4xx_page_naming_the_field(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_month(api)
    csrf = browse_as(api, "treasurer", Role.ADMIN)
    statement_id = drafted(api, csrf)

    def refused(path: str, **fields: str) -> tuple[int, str]:
        status, text = post(api, path, csrf, **fields)
        found = re.search(r'data-field="([^"]+)"', text)
        return status, found.group(1) if found else text

    assert refused("/manage/statements/drafts", month="2026-13") == (422, "month")
    assert refused("/manage/statements/drafts") == (422, "month")
    assert refused("/manage/statements/drafts", month="9999-12") == (422, "month")
    assert refused("/manage/statements/issue", month="0001-01") == (422, "month")
    april = Month(2026, 4)  # a kWh bill in a month when nobody used a machine
    api.state.billing.ledger.add_pool(
        april, CostPool(name="Luce", total_cents=5_000, key=AllocationKey.KWH)
    )
    assert refused("/manage/statements/drafts", month=str(april)) == (409, "pool")
    assert refused("/manage/statements/999999/issue") == (404, "statement")
    assert refused(f"/manage/statements/{statement_id}/credit", reason="x") == (409, "statement")
    post(api, f"/manage/statements/{statement_id}/issue", csrf)
    assert refused(f"/manage/statements/{statement_id}/issue") == (409, "statement")
    assert refused(f"/manage/statements/{statement_id}/credit") == (422, "reason")
    assert refused(f"/manage/statements/{statement_id}/credit", reason="  ") == (422, "reason")
    assert refused(f"/manage/statements/{statement_id}/credit", reason="x" * 501) == (
        422,
        "reason",
    )
    assert refused("/manage/review/held/nothing-held/dismiss") == (404, "session")
    assert api.client.get("/manage/statements/999999").status_code == 404
    assert api.client.get("/manage/statements/abc").status_code == 422
    assert api.client.get("/manage/statements?month=2026-13").status_code == 422
    hostile = api.client.get(f"/manage/statements/{statement_id}?done=<script>")
    assert hostile.status_code == 200 and "<script>" not in hostile.text
    # Nothing valid lost: the statement was issued once and never credited.
    assert [s.kind.value for s in api.state.billing.ledger.statements(Month.parse(MONTH))] == [
        "statement"
    ]


@pytest.fixture
def mail_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free loopback port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_an_issued_statement_is_emailed_from_its_page(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, mail_server: tuple[Inbox, int]
) -> None:
    inbox, port = mail_server
    smtp = SmtpSettings(
        host=LOOPBACK, port=port, security=SmtpSecurity.NONE, sender="cassa@officina.example"
    )
    settings = make_settings(sqlite_url, mosquitto, site, billing=BillingSettings(smtp=smtp))
    for api in running_api(settings):
        seed_month(api)
        csrf = browse_as(api, "treasurer", Role.ADMIN)
        statement_id = drafted(api, csrf)
        assert post(api, f"/manage/statements/{statement_id}/send", csrf)[0] == 409  # a draft
        post(api, f"/manage/statements/{statement_id}/issue", csrf)
        assert post(api, f"/manage/statements/{statement_id}/send", csrf) == (
            303,
            f"/manage/statements/{statement_id}?done=sent",
        )
        (message,) = inbox.messages
        assert message["To"] == "Giulia Rossi <giulia@example.org>"
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content().startswith(b"%PDF")
        runs = api.state.billing.ledger.runs(Month.parse(MONTH))
        assert (runs[-1].step, runs[-1].outcome, runs[-1].by) == ("mail", "done", "treasurer")
        statement = api.state.billing.ledger.statement_by_id(statement_id)
        assert statement is not None and statement.emailed_at is not None


def test_the_review_page_shows_held_sessions_conflicts_and_dead_letters(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    csrf = browse_as(api, "coord", Role.COORDINATOR)
    held_id = book_session(api.state, member="ghost", machine="lathe-1", started=STARTED, minutes=5)
    session_id = book_session(
        api.state, member="giulia", machine="lathe-1", started=STARTED, minutes=10
    )
    book = SessionBook(api.state.engine)
    booked = next(row for row in book.sessions() if row.id == session_id)
    copy = SessionRecord(
        id=session_id,
        ts=int(STARTED.timestamp() * 1000) + 700_000,
        machine="lathe-1",
        member="marco",
        card=booked.card_hash,
        started=int(booked.started.timestamp() * 1000),
        ended=int(booked.ended.timestamp() * 1000),
        unlocked_s=booked.unlocked_s,
        running_s=booked.running_s,
        idle_s=booked.idle_s,
        energy_wh=booked.energy_wh,
        end_reason=EndReason.POWER_LOSS,
        clock_ok=booked.clock_ok,
    )
    book.book_session(api.site, copy)
    book.dead_letter(
        f"officina/v1/{api.site}/machines/lathe-1/sessions", b"{not json", "bad JSON", field="body"
    )

    page = api.client.get("/manage/review?lang=en").text
    assert f'data-held="{held_id}"' in page and "ghost" in page
    assert "Tornio" in page and "power cut" in page and "badged out" in page
    assert "Giulia Rossi / Marco Bianchi" in page  # the two copies name different members
    assert "/machines/lathe-1/sessions" in page and "9 bytes" in page and "bad JSON" in page

    status, text = post(api, f"/manage/review/held/{held_id}/release", csrf)
    assert status == 422 and 'data-field="member"' in text  # ghost is not in the registry
    assert post(api, f"/manage/review/held/{held_id}/dismiss", csrf) == (
        303,
        "/manage/review?done=dismissed",
    )
    assert f'data-held="{held_id}"' not in api.client.get("/manage/review").text


def test_in_a_browser_a_draft_is_opened_issued_and_its_pdf_downloaded(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, tmp_path: Path
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        state = running.state
        seed_registry_of(state, site)
        state.billing.ledger.add_tariff(
            Tariff(valid_from=date(2026, 1, 1), site=site, per_running_minute=500_000)
        )
        book_session(state, member="giulia", machine="lathe-1", started=STARTED, minutes=30)
        state.billing.make_drafts(Month.parse(MONTH))
        (draft,) = state.billing.ledger.statements(Month.parse(MONTH))
        add_login_directly(state, "treasurer", Role.ADMIN)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "treasurer", "password": PASSWORD}
        ).json()["access_token"]
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        with Chromium(profile=tmp_path / "chromium", width=1280, height=900) as browser:
            browser.set_cookie(url=running.url, name=SESSION_COOKIE, value=token)
            browser.open(f"{running.url}/manage/statements?month={MONTH}&lang=en")
            assert "Giulia Rossi" in browser.evaluate("document.body.textContent")
            browser.evaluate(
                f"document.querySelector('a[href=\"/manage/statements/{draft.id}\"]').click()"
            )
            browser.wait_for("document.querySelector('#issue button')")
            assert "Tornio" in browser.evaluate("document.body.textContent")
            browser.evaluate("document.querySelector('#issue button').click()")
            browser.wait_for("document.querySelector('[data-status=\"issued\"]')")
            assert "Statement issued" in browser.evaluate("document.body.textContent")
            browser.screenshot(ARTIFACTS / "statement-issued.png")
            browser.send("Page.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
            browser.evaluate("document.querySelector('a[data-pdf]').click()")
            eventually(
                lambda: any(p.suffix == ".pdf" for p in downloads.iterdir()),
                what="the browser to save the PDF",
            )
        (pdf,) = downloads.glob("*.pdf")
        assert pdf.read_bytes().startswith(b"%PDF")
        assert "giulia" in pdf.name and pdf.name.startswith("2026-0001")
        runs = state.billing.ledger.runs(Month.parse(MONTH))
        assert (runs[-1].step, runs[-1].by) == ("issue", "treasurer")
