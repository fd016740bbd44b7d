"""`officina statements payments …`: a bank file imported, listed and assigned from the shell."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from services.billing.cli import app
from services.billing.fiscal_print import creditor_reference
from tests.billing.camt import Entry, camt053
from tests.billing.conftest import Shop
from tests.billing.test_payments import issue_october

runner = CliRunner()


def invoke(shop: Shop, *args: str) -> tuple[int, str]:
    url = shop.billing.ledger.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["statements", "payments", *args, "--ledger", url])
    return result.exit_code, result.output


def test_a_bank_file_is_imported_once_and_a_stray_credit_assigned_by_number(
    shop: Shop, tmp_path: Path
) -> None:
    october = issue_october(shop)
    anna, bruno = october["anna"], october["bruno"]
    assert anna.number is not None and bruno.number is not None
    camt = tmp_path / "estratto.xml"
    camt.write_bytes(
        camt053(
            [
                Entry(anna.total_cents, "Anna", reference=creditor_reference(anna.number)),
                Entry(bruno.total_cents, "Cugino", text="regalo"),
            ]
        )
    )

    code, out = invoke(shop, "import", str(camt))
    assert code == 0, out
    assert "2 credits" in out and "2 booked, 1 matched" in out
    code, out = invoke(shop, "import", str(camt))
    assert code == 0 and "0 booked, 0 matched, 2 booked before" in out

    (waiting,) = shop.billing.ledger.payments(unmatched=True)
    code, out = invoke(shop, "list", "--unmatched")
    assert code == 0 and "Cugino" in out
    code, out = invoke(shop, "assign", str(waiting.id), bruno.number)
    assert code == 0, out
    assert shop.billing.ledger.payments(unmatched=True) == []
    assert shop.billing.ledger.paid_cents([bruno.id]) == {bruno.id: bruno.total_cents}


def test_a_wrong_bank_file_exits_2_naming_the_line_and_books_nothing(
    shop: Shop, tmp_path: Path
) -> None:
    issue_october(shop)
    csv = tmp_path / "banca.csv"
    csv.write_text("date;amount;counterparty;remittance\n20/11/2026;12,00;A;x\nieri;1,00;B;y\n")

    code, out = invoke(shop, "import", str(csv))

    assert code == 2
    assert "line 3: date" in out
    assert shop.billing.ledger.payments() == []
