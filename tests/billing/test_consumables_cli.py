"""`officina billing consumables …`: the catalogue, stock and takes from the shell."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from services.billing.cli import app
from services.ledger.models import MemberRow
from services.ledger.parties import add_party
from tests.billing.conftest import Shop, join
from tests.billing.examples import ROME
from tests.fiscal.examples import company, person

runner = CliRunner()


def invoke(shop: Shop, *args: str) -> tuple[int, str]:
    url = shop.billing.ledger.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["billing", "consumables", *args, "--ledger", url])
    return result.exit_code, result.output


def test_items_are_added_restocked_taken_and_retired_from_the_shell(shop: Shop) -> None:
    join(shop, "anna")
    with Session(shop.billing.ledger.engine) as db, db.begin():
        row = db.get(MemberRow, "anna")
        assert row is not None
        now = datetime(2025, 1, 1, tzinfo=ROME)
        add_party(db, row, label="privata", party=person(), default=True, now=now)
        firm = add_party(db, row, label="ditta", party=company(), default=False, now=now).id
    added = ("add", "Compensato 4 mm", "--unit", "foglio", "--price", "7,50", "--vat", "22")
    code, out = invoke(shop, *added, "--stock", "5", "--low", "3", "--by", "desk")
    assert code == 0 and "5 foglio in stock" in out, out
    code, out = invoke(shop, "take", "anna", "Compensato 4 mm", "3", "--by", "desk")
    assert code == 0 and "3 foglio of Compensato 4 mm for anna" in out and "22,50" in out, out
    code, out = invoke(shop, "low")
    assert code == 3 and "Compensato" in out and "low" in out, out
    code, out = invoke(shop, "restock", "Compensato 4 mm", "10", "--by", "desk")
    assert code == 0 and "12 foglio in stock" in out, out
    code, out = invoke(shop, "low")
    assert code == 0 and "no item is low" in out

    now = shop.billing.ledger.now().astimezone(ROME)
    code, out = invoke(
        shop,
        *("take", "anna", "1", "2", "--by", "desk", "--party", str(firm)),
        *("--at", f"{now:%Y-%m-%d}T00:00"),
    )
    assert code == 0, out
    [_first, dated] = shop.billing.ledger.takes(member="anna")  # newest first
    assert dated.party_id == firm and dated.taken_at.astimezone(ROME).hour == 0

    code, out = invoke(shop, "retire", "1")
    assert code == 0 and "retired" in out
    code, out = invoke(shop, "list")
    assert code == 0 and "retired" in out
    code, out = invoke(shop, "take", "anna", "1", "1", "--by", "desk")
    assert code == 2 and "item:" in out and "retired" in out, out
    assert invoke(shop, "retire", "1", "--undo")[0] == 0


def test_bad_takes_from_the_shell_name_what_is_wrong(shop: Shop) -> None:
    join(shop, "anna")
    join(shop, "bruno")
    with Session(shop.billing.ledger.engine) as db, db.begin():
        row = db.get(MemberRow, "bruno")
        assert row is not None
        brunos = add_party(
            db,
            row,
            label="sua",
            party=person(),
            default=True,
            now=datetime(2025, 1, 1, tzinfo=ROME),
        ).id
    code, out = invoke(shop, "add", "PLA", "--unit", "g", "--price", "abc", "--by", "desk")
    assert code == 2 and "--price" in out, out
    assert invoke(shop, "add", "PLA", "--unit", "g", "--price", "0,03", "--by", "d")[0] == 0
    cases = [
        (("take", "nobody", "PLA", "1"), "member:"),
        (("take", "anna", "Carta", "1"), "item:"),
        (("take", "anna", "PLA", "1", "--party", str(brunos)), "party:"),
        (("take", "anna", "PLA", "0"), "quantity:"),
        (("take", "anna", "PLA", "1", "--at", "2999-01-01T00:00"), "taken_at:"),
    ]
    for args, named in cases:
        code, out = invoke(shop, *args, "--by", "desk")
        assert code == 2 and named in out, (args, out)
    code, out = invoke(shop, "take", "anna", "PLA", "1", "--at", "yesterday", "--by", "desk")
    assert code == 2 and "--at" in out, out
