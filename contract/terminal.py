"""Lines for a person at a terminal: rich's colours without rich reading the text as markup.

Messages carry brackets of their own (`[machines]`, `machines[lathe-1]`, `[broker]`), which
rich would take for style tags and drop. Every message goes through here as plain `Text`, so
only the label is styled and the message is printed as it was written.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text


def labelled(label: str, message: object, *, style: str = "red") -> Text:
    """`label` in `style`, then the message exactly as written."""
    text = Text(label, style=style)
    text.append(f" {message}")
    return text


def plain(message: object) -> Text:
    """A message printed as written, brackets and all."""
    return Text(str(message))


def print_error(label: str, message: object, *, console: Console | None = None) -> None:
    """One error line on stderr (or the console given), the label in red."""
    (console or Console(stderr=True)).print(labelled(label, message))


def help_text(text: str) -> str:
    """A command's help, which typer reads as rich markup, with its brackets kept."""
    return escape(text)
