"""The workshop's fiscal profile in the billing settings: checked at start-up, told by the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from services.billing.cli import app
from services.billing.errors import SettingsError
from services.billing.fiscal_profile import fiscal_readiness
from services.billing.settings import settings_from
from services.fiscal import BillingMode

VAT_NUMBER = "12345670017"
ASSOCIATION_CF = "80213330584"
runner = CliRunner()


def fiscal(**changes: Any) -> dict[str, Any]:
    """A fattura workshop's `[billing.workshop.fiscal]` table, without its P.IVA."""
    return {
        "legal_name": "Officine Zero Soc. Coop.",
        "address": {
            "street": "Via dei Mestieri",
            "cap": "40121",
            "comune": "Bologna",
            "provincia": "BO",
        },
        "iban": "IT60X0542811101000000123456",
        "billing_mode": "fattura",
    } | changes


def problems(workshop: dict[str, Any]) -> list[str]:
    """What the settings say is wrong."""
    with pytest.raises(SettingsError) as refused:
        settings_from({"workshop": workshop})
    return list(refused.value.problems)


def test_an_old_file_with_only_the_vat_number_still_loads_without_a_fiscal_profile() -> None:
    workshop = settings_from({"workshop": {"vat_number": "IT 0272 7250 017"}}).workshop
    assert workshop.fiscal is None
    readiness = fiscal_readiness(workshop)
    assert readiness.mode is None and not readiness.complete_for_fattura
    assert readiness.missing == ("fiscal: no [billing.workshop.fiscal] table",)


def test_the_fiscal_profile_takes_the_workshops_vat_number_and_is_complete_for_fattura() -> None:
    workshop = settings_from({"workshop": {"vat_number": f"IT{VAT_NUMBER}", "fiscal": fiscal()}})
    assert workshop.workshop.fiscal is not None
    assert workshop.workshop.fiscal.vat_number == VAT_NUMBER
    assert fiscal_readiness(workshop.workshop).complete_for_fattura


def test_an_association_in_rendiconto_mode_loads_but_is_not_complete_for_fattura() -> None:
    table = fiscal(fiscal_code=ASSOCIATION_CF, billing_mode="rendiconto")
    workshop = settings_from({"workshop": {"fiscal": table}}).workshop
    readiness = fiscal_readiness(workshop)
    assert readiness.mode is BillingMode.RENDICONTO and not readiness.complete_for_fattura
    assert [m.split(":")[0] for m in readiness.missing] == [
        "fiscal.billing_mode",
        "fiscal.vat_number",
    ]


@pytest.mark.parametrize(
    ("workshop", "named"),
    [
        ({"fiscal": fiscal(fiscal_code=ASSOCIATION_CF)}, "workshop.fiscal: vat_number"),
        ({"fiscal": fiscal(vat_number="12345670018")}, "workshop.fiscal.vat_number"),
        (
            {"fiscal": fiscal(vat_number=VAT_NUMBER, fiscal_code="80213330585")},
            "workshop.fiscal.fiscal_code",
        ),
        (
            {"fiscal": fiscal(vat_number=VAT_NUMBER, iban="IT61X0542811101000000123456")},
            "workshop.fiscal.iban",
        ),
        (
            {"vat_number": "02727250017", "fiscal": fiscal(vat_number=VAT_NUMBER)},
            "workshop: vat_number",
        ),
        ({"fiscal": fiscal(vat_number=VAT_NUMBER, regime="RF03")}, "workshop.fiscal.regime"),
        ({"fiscal": fiscal(vat_number=VAT_NUMBER, colour="red")}, "workshop.fiscal.colour"),
    ],
)
def test_a_fiscal_profile_that_cannot_be_issued_stops_the_start_naming_the_field(
    workshop: dict[str, Any], named: str
) -> None:
    assert any(problem.startswith(f"settings: {named}") for problem in problems(workshop))


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "billing.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_statements_fiscal_says_whether_the_profile_is_complete_for_fattura(tmp_path: Path) -> None:
    complete = _config(
        tmp_path,
        f"""
[billing.workshop]
vat_number = "{VAT_NUMBER}"
[billing.workshop.fiscal]
legal_name = "Officine Zero Soc. Coop."
iban = "IT60X0542811101000000123456"
billing_mode = "fattura"
[billing.workshop.fiscal.address]
street = "Via dei Mestieri"
cap = "40121"
comune = "Bologna"
provincia = "BO"
""",
    )
    result = runner.invoke(app, ["statements", "fiscal", "--config", str(complete)])
    assert result.exit_code == 0, result.output
    assert "complete for fattura mode" in result.output and VAT_NUMBER in result.output

    old = _config(tmp_path, '[billing.workshop]\nvat_number = "IT02727250017"\n')
    result = runner.invoke(app, ["statements", "fiscal", "--config", str(old)])
    assert result.exit_code == 1
    assert "not complete for fattura mode" in result.output
    assert "[billing.workshop.fiscal]" in result.output

    broken = _config(tmp_path, '[billing.workshop.fiscal]\nlegal_name = "X"\n')
    result = runner.invoke(app, ["statements", "fiscal", "--config", str(broken)])
    assert result.exit_code == 2
