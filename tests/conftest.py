"""Shared test setup: the harness plugin that starts real servers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest_plugins = ["harness.plugin"]


@pytest.fixture(autouse=True)
def _no_log_handler_left_on_a_closed_stream() -> Iterator[None]:
    """A command run in-process logs to the stderr its runner lent it and then closed.

    Its handler must not outlive the test: a later test's log line would find the stream closed.
    """
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        stream = getattr(handler, "stream", None)
        if type(handler) is logging.StreamHandler and getattr(stream, "closed", False):
            root.removeHandler(handler)
