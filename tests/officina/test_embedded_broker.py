"""The embedded broker's own troubles stay in the demo's log, off the terminal."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from officina.demo_cli import _log_into
from officina.embedded_broker import EmbeddedBroker


def test_what_amqtt_leaves_unhandled_is_a_warning_of_its_own_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handled = threading.Event()
    with caplog.at_level(logging.WARNING, logger="amqtt"), EmbeddedBroker() as broker:
        loop = broker._loop
        error = RuntimeError("dictionary changed size during iteration")

        def fail() -> None:
            loop.call_exception_handler({"message": "client_connected_cb", "exception": error})
            handled.set()

        loop.call_soon_threadsafe(fail)
        assert handled.wait(5)
    (record,) = [r for r in caplog.records if r.name == "amqtt.loop"]
    assert record.levelno == logging.WARNING and record.exc_info is not None
    assert "client_connected_cb" in record.getMessage()


def test_the_terminal_does_not_show_amqtt_but_the_demos_log_keeps_it(tmp_path: Path) -> None:
    root = logging.getLogger()
    shown: list[logging.LogRecord] = []

    class Terminal(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            shown.append(record)

    terminal = Terminal()
    # The demo's own process has only its terminal on the root logger: so does this test, for now.
    handlers, level = root.handlers[:], root.level
    root.handlers = [terminal]
    try:
        _log_into(tmp_path / "demo.log")
        logging.getLogger("amqtt.broker").warning("Client gw-1 is already connected, take-over")
        logging.getLogger("officina.showcase").warning("the month is over")
    finally:
        for handler in root.handlers:
            if handler is not terminal:
                handler.close()
        root.handlers, root.level = handlers, level
    assert [r.getMessage() for r in shown] == ["the month is over"]
    kept = (tmp_path / "demo.log").read_text(encoding="utf-8")
    assert "take-over" in kept and "the month is over" in kept
