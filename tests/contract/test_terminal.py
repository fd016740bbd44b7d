"""Messages reach the terminal as written: brackets are text, not rich's style tags."""

from __future__ import annotations

import io

from rich.console import Console

from contract.terminal import labelled, plain, print_error

BRACKETED = "machines[lathe-1].run_amps: unknown key in [machines]; see [broker] and [/]"


def _shown(render: object) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(render)
    return out.getvalue()


def test_a_labelled_error_keeps_every_bracket_of_its_message() -> None:
    assert _shown(labelled("settings", BRACKETED)) == f"settings {BRACKETED}\n"


def test_a_plain_line_keeps_what_rich_would_read_as_markup() -> None:
    assert _shown(plain(BRACKETED)) == f"{BRACKETED}\n"


def test_print_error_writes_the_message_whole_to_the_console_given() -> None:
    out = io.StringIO()
    print_error("ledger", BRACKETED, console=Console(file=out, width=200, color_system=None))
    assert out.getvalue() == f"ledger {BRACKETED}\n"
