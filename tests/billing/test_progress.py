"""Long runs tell how far they are: plain log lines when nobody watches a terminal."""

from __future__ import annotations

import logging

import pytest

from services.billing.progress import progress


def test_without_a_terminal_progress_is_logged_every_tenth(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="services.billing.progress")
    with progress("issuing 2026-10", 500, terminal=False) as advance:
        for _ in range(500):
            advance(1)
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "issuing 2026-10: 500 to do"
    assert lines[-1] == "issuing 2026-10: 500 of 500 (100 %)"
    assert len(lines) == 11


def test_on_a_terminal_progress_is_a_bar_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="services.billing.progress")
    with progress("billing 2026-10", 3, terminal=True) as advance:
        advance(3)
    assert caplog.records == []
