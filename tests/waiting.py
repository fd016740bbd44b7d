"""Waiting for something another thread or process does, with a deadline instead of a sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest


def eventually(check: Callable[[], bool], *, timeout: float = 15.0, what: str = "") -> None:
    """Wait until `check()` holds, polling; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what or check}")
        pause.wait(0.05)
