"""The words of the first-run pages, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {}
