"""Payments over the api: a bank file uploaded by staff, matched, assigned; statements say paid."""

from __future__ import annotations

from services.api.security import Role
from services.billing.fiscal_print import creditor_reference
from tests.api.conftest import Api
from tests.api.test_billing import MONTH, _month_with_usage
from tests.billing.camt import Entry, camt053


def _issued(api: Api) -> tuple[dict[str, str], dict[str, object]]:
    staff = _month_with_usage(api)
    admin = api.add_login("admin", Role.ADMIN)
    client = api.client
    assert client.post("/api/v1/statements/drafts", json={"month": MONTH}, headers=staff).is_success
    assert client.post("/api/v1/statements/issue", json={"month": MONTH}, headers=admin).is_success
    [statement] = client.get("/api/v1/statements", params={"month": MONTH}, headers=staff).json()
    return staff, statement


def _upload(data: bytes, name: str = "estratto.xml") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, "application/xml")}


def test_an_uploaded_camt_file_pays_the_statement_and_a_stray_credit_is_assigned(
    api: Api,
) -> None:
    staff, statement = _issued(api)
    client = api.client
    total = int(str(statement["total_cents"]))
    # Issued today: due in 30 days, nothing paid yet.
    assert statement["payment_state"] == "open" and statement["paid_cents"] == 0
    data = camt053(
        [
            Entry(total - 500, "Giulia", reference=creditor_reference(str(statement["number"]))),
            Entry(500, "Marito di Giulia", text="saldo"),
        ]
    )

    answer = client.post("/api/v1/payments/import", files=_upload(data), headers=staff)

    assert answer.status_code == 201, answer.text
    assert answer.json() | {"credited_cents": 0} == {
        "kind": "camt",
        "credits": 2,
        "credited_cents": 0,
        "added": 2,
        "matched": 1,
        "already_booked": 0,
    }
    assert answer.json()["credited_cents"] == total
    again = client.post("/api/v1/payments/import", files=_upload(data), headers=staff)
    assert (again.json()["added"], again.json()["already_booked"]) == (0, 2)
    part = client.get(f"/api/v1/statements/{statement['id']}", headers=staff).json()
    assert (part["paid_cents"], part["payment_state"]) == (total - 500, "part-paid")
    [waiting] = client.get("/api/v1/payments", params={"which": "unmatched"}, headers=staff).json()

    assigned = client.post(
        f"/api/v1/payments/{waiting['id']}/assign",
        json={"statement_id": statement["id"]},
        headers=staff,
    )

    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["matched_by"] == "coordinator"
    paid = client.get(f"/api/v1/statements/{statement['id']}", headers=staff).json()
    assert (paid["paid_cents"], paid["payment_state"]) == (total, "paid")
    twice = client.post(
        f"/api/v1/payments/{waiting['id']}/assign", json={"not_ours": True}, headers=staff
    )
    assert twice.status_code == 409
    assert client.get("/api/v1/payments", params={"which": "unmatched"}, headers=staff).json() == []


def test_a_wrong_bank_file_is_a_422_naming_where_and_nothing_is_booked(sqlite_api: Api) -> None:
    staff, _statement = _issued(sqlite_api)
    client = sqlite_api.client
    broken = camt053([Entry(100, "A")]).replace(b">1.00<", b">uno<", 1)

    answer = client.post("/api/v1/payments/import", files=_upload(broken), headers=staff)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "Stmt[1]/Ntry[1]/Amt"]
    csv = b"date;amount;counterparty;remittance\n20/11/2026;dieci;A;x\n"
    answer = client.post("/api/v1/payments/import", files=_upload(csv, "e.csv"), headers=staff)
    assert answer.json()["detail"][0]["loc"] == ["body", "line 2: amount"]
    assert client.get("/api/v1/payments", headers=staff).json() == []
    empty = client.post("/api/v1/payments/import", files=_upload(b""), headers=staff)
    assert empty.status_code == 422
    assert client.post("/api/v1/payments/import", headers=staff).status_code == 422


def test_payments_are_for_staff_only(sqlite_api: Api) -> None:
    _staff, statement = _issued(sqlite_api)
    client = sqlite_api.client
    member = sqlite_api.add_login("giulia", Role.MEMBER, member="giulia")
    data = camt053([Entry(100, "A")])
    for headers, expected in (({}, 401), (member, 403)):
        assert client.get("/api/v1/payments", headers=headers).status_code == expected
        upload = client.post("/api/v1/payments/import", files=_upload(data), headers=headers)
        assert upload.status_code == expected
        body = {"statement_id": statement["id"]}
        assign = client.post("/api/v1/payments/1/assign", json=body, headers=headers)
        assert assign.status_code == expected
    # A member still sees what she has paid on her own statement.
    own = client.get(f"/api/v1/statements/{statement['id']}", headers=member).json()
    assert own["paid_cents"] == 0


def test_a_members_export_lists_what_she_paid_and_nobody_elses_credits(sqlite_api: Api) -> None:
    staff, statement = _issued(sqlite_api)
    client = sqlite_api.client
    giulia = sqlite_api.add_login("giulia", Role.MEMBER, member="giulia")
    reference = creditor_reference(str(statement["number"]))
    data = camt053([Entry(1234, "Giulia", reference=reference), Entry(999, "Altro", text="x")])
    assert client.post("/api/v1/payments/import", files=_upload(data), headers=staff).is_success

    export = client.get("/api/v1/members/giulia/export", headers=giulia).json()

    assert [(p["amount_cents"], p["statement_number"]) for p in export["payments"]] == [
        (1234, statement["number"])
    ]


def test_erasing_a_member_keeps_her_payments_amounts_and_drops_her_name(sqlite_api: Api) -> None:
    staff, statement = _issued(sqlite_api)
    client = sqlite_api.client
    admin = sqlite_api.add_login("root", Role.ADMIN)
    reference = creditor_reference(str(statement["number"]))
    data = camt053(
        [
            Entry(1234, "ROSSI GIULIA", reference=reference, text="Giulia Rossi, marzo"),
            Entry(500, "Marco Bianchi", text="per Giulia Rossi"),
        ]
    )
    assert client.post("/api/v1/payments/import", files=_upload(data), headers=staff).is_success

    assert client.post("/api/v1/members/giulia/erase", headers=admin).status_code == 200

    payments = client.get("/api/v1/payments", headers=staff).json()
    assert sorted(p["amount_cents"] for p in payments) == [500, 1234]
    assert not any("giulia" in f"{p['payer']} {p['remittance']}".casefold() for p in payments)
    after = client.get(f"/api/v1/statements/{statement['id']}", headers=staff).json()
    assert after["paid_cents"] == 1234


def test_the_accountant_downloads_the_months_payments_as_csv(sqlite_api: Api) -> None:
    staff, statement = _issued(sqlite_api)
    client = sqlite_api.client
    reference = creditor_reference(str(statement["number"]))
    data = camt053([Entry(1234, "Giulia", reference=reference), Entry(500, "Ignoto")])
    assert client.post("/api/v1/payments/import", files=_upload(data), headers=staff).is_success
    [payment, _other] = client.get("/api/v1/payments", headers=staff).json()
    month = payment["booked"][:7]

    csv = client.get(f"/api/v1/payments/export/{month}.csv", params={"lang": "en"}, headers=staff)

    assert csv.status_code == 200, csv.text
    lines = csv.text.splitlines()
    assert lines[0].startswith("booked,amount,currency,payer")
    assert len(lines) == 3
    assert any(",12.34,EUR,Giulia," in line and statement["number"] in line for line in lines)
    empty = client.get("/api/v1/payments/export/2001-01.csv", headers=staff)
    assert empty.text.splitlines()[1:] == []
