"""Footnote marks of a printed statement: a mark is handed out only when a line uses it.

So every mark on the page has its note and every note printed has a mark in use. Marks go by
first use: `*`, `†`, `‡`, `§`, `¶`, then the same doubled (`**`, `††`, …), all in the PDF's
standard fonts.
"""

from __future__ import annotations

from itertools import count

SYMBOLS = ("*", "†", "‡", "§", "¶")


def nth_mark(index: int) -> str:
    """The mark handed out after `index` others."""
    times, symbol = divmod(index, len(SYMBOLS))
    return SYMBOLS[symbol] * (times + 1)


class Footnotes:
    """The notes of one document, in the order their marks were first used."""

    def __init__(self) -> None:
        self._marks: dict[str, str] = {}
        self._texts: dict[str, str] = {}
        self._next = count()

    def mark(self, key: str, text: str) -> str:
        """The mark of a note (the same key keeps its mark), handed out at its first use."""
        if key not in self._marks:
            self._marks[key] = nth_mark(next(self._next))
            self._texts[key] = text
        return self._marks[key]

    @property
    def notes(self) -> list[tuple[str, str]]:
        """Each mark in use with its note."""
        return [(self._marks[key], self._texts[key]) for key in self._marks]
