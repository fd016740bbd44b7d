"""`officina ingest …`: run the ingest service, set InfluxDB up, and handle dead letters."""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import ExitStack
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from contract.mqtt import MqttProtocol
from contract.mqtt_cli import (
    DEFAULT_BROKER,
    BrokerCaOption,
    BrokerCertOption,
    BrokerKeyOption,
    BrokerUrlOption,
    broker_options,
)
from contract.terminal import plain, print_error
from services.cli_options import (
    DEFAULT_INFLUX_DB,
    DEFAULT_LEDGER_URL,
    DemoOption,
    InfluxDbOption,
    InfluxTokenOption,
    InfluxUrlOption,
    LedgerOption,
    PseudonymKeyOption,
    refused,
)
from services.influx import (
    MAX_BATCH_LINES,
    InfluxClient,
    InfluxError,
    InfluxSettings,
    InfluxSettingsError,
)
from services.influx import setup as influx_setup
from services.ingest.errors import IngestError, NotConnectedError, SettingsError
from services.ingest.logs import LogFormat, configure_logging
from services.ingest.metrics import MetricsServer
from services.ingest.replay import replay_dead_letters
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings
from services.ledger import LedgerError, SessionBook
from services.ledger.pseudonyms import pseudonym_key_problems

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Book the gateways' messages into the ledger and InfluxDB.", no_args_is_help=True
)

STATUS_EVERY_S = 60.0


def _influx_settings(
    url: str | None, database: str, token: str | None, rp: str | None = None
) -> InfluxSettings | None:
    if not url:
        return None
    try:
        return InfluxSettings(url=url, database=database, token=token, retention_policy=rp)
    except InfluxSettingsError as err:
        raise refused(str(err)) from err


@app.command()
def run(
    broker: BrokerUrlOption = DEFAULT_BROKER,
    broker_ca: BrokerCaOption = None,
    broker_cert: BrokerCertOption = None,
    broker_key: BrokerKeyOption = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    influx_url: InfluxUrlOption = None,
    influx_db: InfluxDbOption = DEFAULT_INFLUX_DB,
    influx_token: InfluxTokenOption = None,
    influx_rp: Annotated[
        str | None, typer.Option(help="InfluxDB retention policy (default: the database's)")
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="MQTT client id (default: the broker login, else officina-ingest)"),
    ] = None,
    shared_group: Annotated[
        str | None, typer.Option(help="share the subscription with other ingests in this group")
    ] = None,
    mqtt_version: Annotated[
        MqttProtocol, typer.Option(help="5 for Mosquitto, 3.1.1 for the embedded broker")
    ] = MqttProtocol.V5,
    batch_size: Annotated[
        int, typer.Option(help=f"messages per batch (at most {MAX_BATCH_LINES})")
    ] = MAX_BATCH_LINES,
    flush_interval: Annotated[
        float, typer.Option(help="seconds a message may wait for its batch to fill")
    ] = 1.0,
    max_unacked: Annotated[
        int, typer.Option(help="MQTT 5 Receive Maximum: unacknowledged messages in flight")
    ] = 20_000,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve Prometheus /metrics on this port (0: any free)")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="address /metrics listens on")] = "127.0.0.1",
    log_format: Annotated[LogFormat, typer.Option(help="keyvalue or json lines")] = (
        LogFormat.KEYVALUE
    ),
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    pseudonym_key: PseudonymKeyOption = None,
    demo: DemoOption = False,
    session_max_age_days: Annotated[
        float, typer.Option(help="refuse sessions that started longer ago than this many days")
    ] = 90.0,
) -> None:
    """Run ingest until Ctrl-C or SIGTERM."""
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise typer.BadParameter(f"unknown level {log_level!r}", param_hint="--log-level")
    configure_logging(log_format, level=level)
    options = broker_options(
        broker, broker_ca, broker_cert, broker_key, client_id=client_id, protocol=mqtt_version
    )
    try:
        settings = IngestSettings(
            broker=options,
            shared_group=shared_group,
            ledger_url=ledger,
            influx=_influx_settings(influx_url, influx_db, influx_token, influx_rp),
            batch_size=batch_size,
            flush_interval_s=flush_interval,
            max_unacked=max_unacked,
            pseudonym_key=pseudonym_key,
            demo=demo,
            session_max_age_days=session_max_age_days,
        )
    except SettingsError as err:
        raise refused(str(err)) from err
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("ingest stopping (%s)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    ingest: Ingest | None = None
    try:
        with ExitStack() as running:
            ingest = running.enter_context(Ingest(settings))
            if metrics_port is not None:
                server = MetricsServer(ingest.metrics, host=metrics_host, port=metrics_port)
                running.enter_context(server)
                log.info("metrics listening on port %d", server.port)
            try:
                ingest.wait_connected(10.0)
            except NotConnectedError as err:
                log.warning("%s; still trying", err)
            while not stop.wait(STATUS_EVERY_S):
                log.info("ingest counters: %s", dict(sorted(ingest.counters.items())))
    except (IngestError, LedgerError) as err:
        log.error("ingest cannot run: %s", err)
        raise typer.Exit(1) from err
    # Counted once ingest has stopped, so the batch in hand when the signal came is in the figures.
    log.info("ingest counters at stop: %s", dict(sorted(ingest.counters.items())))


@app.command("influx-setup")
def influx_setup_command(
    influx_url: InfluxUrlOption = None,
    influx_db: InfluxDbOption = DEFAULT_INFLUX_DB,
    influx_token: InfluxTokenOption = None,
    backfill_hours: Annotated[
        int, typer.Option(min=0, help="also roll up the raw data of the last N hours")
    ] = 0,
) -> None:
    """Create (or fix) retention policies and 1-minute rollup queries on InfluxDB 1.x."""
    console = Console()
    settings = _influx_settings(influx_url, influx_db, influx_token)
    if settings is None:
        raise typer.BadParameter("needed to set InfluxDB up", param_hint="--influx-url")
    try:
        with InfluxClient(settings) as client:
            changed = influx_setup.apply(client, backfill_hours=backfill_hours)
    except InfluxError as err:
        print_error("InfluxDB setup failed:", err, console=console)
        raise typer.Exit(1) from err
    for line in changed:
        console.print(plain(line))
    console.print(f"{len(changed)} changes; {influx_db} is set up.")


@app.command("dead-letters")
def dead_letters(
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    limit: Annotated[int, typer.Option(min=1, help="at most this many, newest first")] = 50,
    replay: Annotated[
        bool, typer.Option("--replay", help="check them again and book those that now pass")
    ] = False,
    influx_url: InfluxUrlOption = None,
    influx_db: InfluxDbOption = DEFAULT_INFLUX_DB,
    influx_token: InfluxTokenOption = None,
    pseudonym_key: PseudonymKeyOption = None,
) -> None:
    """List rejected messages not yet replayed, or replay them after a fix."""
    console = Console()
    influx = _influx_settings(influx_url, influx_db, influx_token)
    problems = pseudonym_key_problems(pseudonym_key, demo=False)
    if problems:
        raise refused("; ".join(problems))
    try:
        opened = SessionBook.open(ledger, existing=True)
    except LedgerError as err:
        print_error("cannot open the ledger:", err, console=console)
        raise typer.Exit(1) from err
    try:
        if replay:
            _replay(console, opened, influx, limit, pseudonym_key)
        else:
            _list(console, opened, limit)
    finally:
        opened.close()


def _replay(
    console: Console,
    ledger: SessionBook,
    influx: InfluxSettings | None,
    limit: int,
    pseudonym_key: str | None,
) -> None:
    try:
        with ExitStack() as stack:
            client = stack.enter_context(InfluxClient(influx)) if influx else None
            report = replay_dead_letters(
                ledger=ledger, influx=client, limit=limit, pseudonym_key=pseudonym_key
            )
    except (LedgerError, InfluxError) as err:
        print_error("replay stopped:", err, console=console)
        raise typer.Exit(1) from err
    for still in report.still_rejected:
        console.print(
            plain(f"dead letter {still.letter_id} on {still.topic} still rejected: {still.error}")
        )
    console.print(
        f"Replayed {report.replayed}; still rejected {len(report.still_rejected)}; "
        f"waiting for InfluxDB {report.waiting_for_influx}."
    )
    if report.waiting_for_influx:
        console.print("Give --influx-url to replay telemetry and state changes.")


def _list(console: Console, ledger: SessionBook, limit: int) -> None:
    letters = ledger.dead_letters(limit=limit)
    if not letters:
        console.print("No dead letters.")
        return
    table = Table(title=f"Dead letters ({len(letters)} newest)")
    for column in ("id", "received (UTC)", "topic", "field", "error", "raw"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        raw = repr(letter.raw[:60]) + ("…" if len(letter.raw) > 60 else "")
        size = letter.raw_size if letter.raw_size is not None else len(letter.raw)
        if size > len(letter.raw):
            raw += f" ({len(letter.raw)} of {size} bytes kept)"
        table.add_row(
            str(letter.id),
            letter.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            plain(letter.topic),
            plain(letter.field or ""),
            plain(letter.error),
            plain(raw),
        )
    console.print(table)
