"""A server started through `officina` loads its own part of the code, not the whole of officina."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from officina.cli import GROUPS, invoked_group

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "group"),
    [
        (["ingest", "run", "--broker", "mqtt://x"], "ingest"),
        (["--log-level", "debug", "api", "run"], "api"),
        (["--log-level=info", "statements", "schedule"], "statements"),
        (["--version"], None),
        (["doctor"], None),
        ([], None),
    ],
)
def test_the_group_is_found_past_the_top_level_options(args: list[str], group: str | None) -> None:
    assert invoked_group(args) == group


def test_every_group_is_in_the_whole_command() -> None:
    from officina.cli import app

    assert {group.name for group in app.registered_groups} == set(GROUPS)


def test_ingest_runs_without_the_api_or_billing_code() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['officina', 'ingest', '--help']\n"
        "from officina.cli import run\n"
        "try:\n"
        "    run()\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('fastapi', 'reportlab', 'services.billing.service')\n"
        "print('loaded:', *[name for name in names if name in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "loaded:"
