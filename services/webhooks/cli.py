"""`officina webhooks run`: the daemon that delivers the outbox to the subscribed targets."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from services.cli_options import DEFAULT_LEDGER_URL, LedgerOption, refused
from services.ingest.logs import LogFormat, configure_logging
from services.ledger import LedgerError, open_existing
from services.webhooks.store import WebhookStore
from services.webhooks.targets import TargetPolicy
from services.webhooks.worker import DeliveryWorker, WorkerOptions

log = logging.getLogger(__name__)

app = typer.Typer(help="Deliver events to the subscribed webhook targets.", no_args_is_help=True)


@app.command()
def run(
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    timeout_s: Annotated[float, typer.Option(help="seconds a target has to answer")] = 10.0,
    max_attempts: Annotated[int, typer.Option(help="attempts before failing for good")] = 8,
    backoff_s: Annotated[float, typer.Option(help="pause after the first failure")] = 10.0,
    allow_loopback: Annotated[
        bool,
        typer.Option(
            help="allow targets on loopback addresses", envvar="OFFICINA_WEBHOOKS_ALLOW_LOOPBACK"
        ),
    ] = False,
    allow_link_local: Annotated[
        bool,
        typer.Option(
            help="allow targets on link-local addresses (169.254.0.0/16)",
            envvar="OFFICINA_WEBHOOKS_ALLOW_LINK_LOCAL",
        ),
    ] = False,
    heartbeat: Annotated[
        Path | None, typer.Option(help="a file touched after every round, for a healthcheck")
    ] = None,
) -> None:
    """Deliver pending webhook events until stopped (SIGTERM or Ctrl-C)."""
    configure_logging(LogFormat.KEYVALUE)
    if not 0 < timeout_s <= 120:
        raise refused("timeout_s: must be in (0, 120]")
    if not 1 <= max_attempts <= 50:
        raise refused("max_attempts: must be between 1 and 50")
    if not backoff_s > 0:
        raise refused("backoff_s: must be positive")
    try:
        engine = open_existing(ledger)
    except LedgerError as err:
        raise refused(f"ledger: {err}") from err
    options = WorkerOptions(
        timeout_s=timeout_s,
        max_attempts=max_attempts,
        backoff_s=backoff_s,
        policy=TargetPolicy(allow_loopback=allow_loopback, allow_link_local=allow_link_local),
    )
    worker = DeliveryWorker(WebhookStore(engine), options)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("webhooks stopping (%s)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.info("delivering webhooks from %s", engine.url.render_as_string(hide_password=True))
    try:
        worker.run(stop, heartbeat=heartbeat)
    finally:
        worker.close()
        engine.dispose()
