"""Progress of long runs: a rich progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

log = logging.getLogger(__name__)

Advance = Callable[[int], None]
LOG_EVERY_PERCENT = 10


@contextmanager
def progress(description: str, total: int, *, terminal: bool | None = None) -> Iterator[Advance]:
    """A callable that counts `n` steps done, shown as a bar on a TTY or logged every 10 %."""
    if terminal is None:
        terminal = sys.stderr.isatty()
    if terminal:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        ) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)
        return
    done = [0, 0]  # steps done, last percentage logged

    def advance(n: int) -> None:
        done[0] += n
        percent = 100 * done[0] // total if total else 100
        if percent >= done[1] + LOG_EVERY_PERCENT or (done[0] == total and done[1] < 100):
            done[1] = percent - percent % LOG_EVERY_PERCENT if done[0] < total else 100
            log.info("%s: %d of %d (%d %%)", description, done[0], total, percent)

    log.info("%s: %d to do", description, total)
    yield advance
