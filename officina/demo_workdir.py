"""The demo's folder: made and marked by the demo, replaced by the next run, never a stranger's."""

from __future__ import annotations

import shutil
from pathlib import Path

MARKER = ".officina-demo"
MARKER_TEXT = "This folder was made by `officina demo`; the next demo run replaces what is in it.\n"


class WorkdirRefusedError(RuntimeError):
    """The folder holds files the demo did not make: it is left as it is."""


def claim_workdir(path: Path) -> Path:
    """Make `path` the demo's empty, marked folder; refuse one with files the demo did not make."""
    if path.exists() and not path.is_dir():
        raise WorkdirRefusedError(f"{path} is a file, not a folder")
    marker = path / MARKER
    if path.is_dir() and any(path.iterdir()):
        if not marker.is_file():
            raise WorkdirRefusedError(
                f"{path} is not empty and was not made by the demo: nothing was written "
                "there; give an empty or new folder with --workdir"
            )
        for child in path.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            elif child != marker:
                child.unlink()
    path.mkdir(parents=True, exist_ok=True)
    marker.write_text(MARKER_TEXT, encoding="utf-8")
    return path
