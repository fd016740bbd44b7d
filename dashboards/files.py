"""The dashboard JSON in `dashboards/json/`: written from the code, checked against it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from dashboards.catalogue import DASHBOARDS
from dashboards.errors import StaleJsonError
from dashboards.grafana_json import check_constants, render_text
from dashboards.panels import Dashboard

log = logging.getLogger(__name__)

JSON_DIR = Path(__file__).with_name("json")


def write_all(
    directory: Path = JSON_DIR,
    dashboards: tuple[Dashboard, ...] = DASHBOARDS,
    constants: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write every dashboard's JSON (settings from `constants`); the files written."""
    check_constants(dashboards, constants or {})
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for dashboard in dashboards:
        path = directory / dashboard.file_name
        path.write_text(render_text(dashboard, constants), encoding="utf-8")
        written.append(path)
        log.info("wrote %s", path)
    return written


def stale(directory: Path = JSON_DIR, dashboards: tuple[Dashboard, ...] = DASHBOARDS) -> list[str]:
    """The dashboard files that are missing, out of date, or not built by the code."""
    problems = []
    expected = {d.file_name: render_text(d) for d in dashboards}
    for name, text in expected.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing (run `officina dashboards build`)")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{name}: differs from the code (run `officina dashboards build`)")
    problems += [
        f"{path.name}: not a dashboard of the catalogue"
        for path in sorted(directory.glob("*.json"))
        if path.name not in expected
    ]
    return problems


def check(directory: Path = JSON_DIR) -> None:
    """Raise StaleJsonError listing every stale file."""
    problems = stale(directory)
    if problems:
        raise StaleJsonError("; ".join(problems))
