"""`officina billing credit …`: top-ups, a bank credit put on credit, packs and the register."""

from __future__ import annotations

from typer.testing import CliRunner

from services.billing.cli import app
from services.billing.payments import import_bank_file
from tests.billing.camt import Entry, camt053
from tests.billing.conftest import Shop, join
from tests.billing.examples import ROME

runner = CliRunner()


def invoke(shop: Shop, *args: str) -> tuple[int, str]:
    url = shop.billing.ledger.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["billing", "credit", *args, "--ledger", url])
    return result.exit_code, result.output


def test_credit_is_topped_up_shown_and_registered_from_the_shell(shop: Shop) -> None:
    join(shop, "anna")
    code, out = invoke(shop, "top-up", "anna", "12,50", "--by", "desk", "--note", "contanti")
    assert code == 0, out
    assert "balance 12,50" in out
    import_bank_file(shop.billing, camt053([Entry(700, "Anna Rossi", text="ricarica")]))
    (waiting,) = shop.billing.ledger.payments(unmatched=True)
    code, out = invoke(shop, "from-payment", str(waiting.id), "anna", "--by", "desk")
    assert code == 0 and "balance 19,50" in out, out

    code, out = invoke(
        shop,
        "pack-add",
        "10 ore laser",
        "--meter",
        "running_minutes",
        "--quantity",
        "10",
        "--price",
        "200",
        "--vat",
        "22",
        "--valid-days",
        "180",
    )
    assert code == 0, out
    [product] = shop.billing.ledger.pack_products()
    assert product.quantity == 36_000_000
    code, out = invoke(shop, "pack-sell", "anna", str(product.id), "--by", "desk")
    assert code == 0, out
    code, out = invoke(shop, "show", "anna")
    assert code == 0 and "10 ore laser" in out and "balance: 19,50" in out, out
    code, out = invoke(shop, "pack-edit", str(product.id), "--price", "220", "--valid-days", "365")
    assert code == 0 and "220,00" in out and "365 days" in out, out
    code, out = invoke(shop, "pack-retire", str(product.id))
    assert code == 0 and "retired" in out, out
    assert shop.billing.ledger.pack_products() == []
    code, out = invoke(shop, "pack-retire", str(product.id))
    assert code == 1 and "retired" in out, out

    # The command records at the wall clock's time: its month's register holds both.
    first = shop.billing.ledger.credit_movements("anna")[0].at.astimezone(ROME)
    code, out = invoke(shop, "register", "--month", f"{first:%Y-%m}")
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[0].startswith("day;member;kind;amount")
    assert [line.split(";")[3] for line in lines[1:]] == ["12,50", "7,00"]


def test_bad_credit_commands_name_the_field(shop: Shop) -> None:
    join(shop, "anna")
    code, out = invoke(shop, "top-up", "anna", "zero", "--by", "desk")
    assert code != 0 and "amount" in out
    code, out = invoke(shop, "top-up", "nobody", "5", "--by", "desk")
    assert code == 2 and "member" in out
    code, out = invoke(shop, "pack-sell", "anna", "99", "--by", "desk")
    assert code == 2 and "product" in out
    code, out = invoke(shop, "pack-edit", "99", "--price", "-1")
    assert code != 0 and "price" in out
    code, out = invoke(shop, "pack-edit", "99", "--price", "5")
    assert code == 2 and "product" in out
