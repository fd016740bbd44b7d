"""Help that explains a syntax with brackets shows the brackets (typer reads help as markup)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from officina.cli import app


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["api", "run"], "TOML with the [billing] settings"),
        (["ingest", "run"], "mqtt://[user[:password]@]host[:port]"),
        (["billing", "plan", "set"], "meter:quantity[@site/machine]"),
    ],
)
def test_help_keeps_the_brackets_it_explains(command: list[str], shown: str) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0
    assert shown in result.output
