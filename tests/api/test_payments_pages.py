"""The payments page: a bank file uploaded from the page, a stray credit assigned by number."""

from __future__ import annotations

from services.api.security import Role
from services.billing.fiscal_print import creditor_reference
from tests.api.conftest import Api
from tests.api.test_billing_pages import browse_as
from tests.api.test_payments import _issued
from tests.billing.camt import Entry, bank_csv, camt053


def test_a_treasurer_uploads_a_bank_file_and_assigns_what_is_left_from_the_page(
    sqlite_api: Api,
) -> None:
    _staff, statement = _issued(sqlite_api)
    client = sqlite_api.client
    total = int(str(statement["total_cents"]))
    number = str(statement["number"])
    csrf = browse_as(sqlite_api, "cassa", Role.COORDINATOR)
    data = camt053(
        [
            Entry(total - 300, "Giulia", reference=creditor_reference(number)),
            Entry(300, "Zia di Giulia", text="resto"),
        ]
    )
    files = {"file": ("estratto.xml", data, "application/xml")}

    refused = client.post("/manage/payments/import", files=files, follow_redirects=False)
    assert refused.status_code == 403 and 'data-field="csrf"' in refused.text
    uploaded = client.post(
        "/manage/payments/import", files=files, data={"csrf": csrf}, follow_redirects=False
    )

    assert uploaded.status_code == 303, uploaded.text
    page = client.get("/manage/payments?done=imported&lang=en")
    assert page.status_code == 200
    assert "Bank statement imported." in page.text and "Zia di Giulia" in page.text
    month = client.get("/manage/statements?month=2026-03&lang=en").text
    assert 'data-payment-state="part-paid"' in month
    [waiting] = sqlite_api.state.billing.ledger.payments(unmatched=True)

    assigned = client.post(
        f"/manage/payments/{waiting.id}/assign",
        data={"csrf": csrf, "number": number},
        follow_redirects=False,
    )

    assert assigned.status_code == 303, assigned.text
    shown = client.get(f"/manage/statements/{statement['id']}?lang=en").text
    assert 'data-payment-state="paid"' in shown and f'data-paid="{total}"' in shown
    assert "No payment waiting" in client.get("/manage/payments").text
    her_month = client.get("/members/giulia/month?month=2026-03&lang=en").text
    assert 'data-payment-state="paid"' in her_month


def test_a_wrong_bank_file_from_the_page_names_the_line_and_books_nothing(
    sqlite_api: Api,
) -> None:
    _issued(sqlite_api)
    csrf = browse_as(sqlite_api, "cassa", Role.COORDINATOR)
    broken = bank_csv([("20/11/2026", "10,00", "A", "x"), ("20/11/2026", "dieci", "B", "y")])
    files = {"file": ("banca.csv", broken, "text/csv")}

    answer = sqlite_api.client.post("/manage/payments/import", files=files, data={"csrf": csrf})

    assert answer.status_code == 422
    assert 'data-field="line 3: amount"' in answer.text
    assert sqlite_api.state.billing.ledger.payments() == []
    nothing = sqlite_api.client.post("/manage/payments/import", data={"csrf": csrf})
    assert nothing.status_code == 415


def test_a_member_may_not_see_the_payments_page(sqlite_api: Api) -> None:
    browse_as(sqlite_api, "giulia", Role.MEMBER, member="giulia")
    assert sqlite_api.client.get("/manage/payments").status_code == 403
