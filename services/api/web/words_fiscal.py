"""The words of the fiscal pages, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {}
