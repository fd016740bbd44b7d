"""Italian identifiers whose check characters hold, for hypothesis, and their corruption."""

from __future__ import annotations

from hypothesis import strategies as st
from stdnum import luhn
from stdnum.it import codicefiscale

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MONTHS = "ABCDEHLMPRST"  # the codice fiscale's letters for January to December


@st.composite
def partite_iva(draw: st.DrawFn) -> str:
    """An 11-digit partita IVA: a non-zero number, a province office code, the Luhn digit."""
    number = draw(st.integers(min_value=1, max_value=9_999_999))
    office = draw(st.integers(min_value=1, max_value=100))
    body = f"{number:07d}{office:03d}"
    return body + luhn.calc_check_digit(body)


@st.composite
def codici_fiscali(draw: st.DrawFn) -> str:
    """A person's 16-character codice fiscale with a real birth date and its check character."""
    name = "".join(draw(st.lists(st.sampled_from(_LETTERS), min_size=6, max_size=6)))
    year = draw(st.integers(min_value=0, max_value=99))
    month = draw(st.sampled_from(_MONTHS))
    day = draw(st.integers(min_value=1, max_value=28)) + draw(st.sampled_from([0, 40]))
    town = draw(st.sampled_from(_LETTERS)) + f"{draw(st.integers(min_value=1, max_value=999)):03d}"
    body = f"{name}{year:02d}{month}{day:02d}{town}"
    return body + codicefiscale.calc_check_digit(body)


def with_wrong_check(code: str, replacement: str) -> str:
    """The identifier with its last (check) character replaced by another of the same kind."""
    alphabet = "0123456789" if code[-1].isdigit() else _LETTERS
    wrong = [c for c in alphabet if c != code[-1]]
    return code[:-1] + wrong[ord(replacement) % len(wrong)]
