"""`officina ingest …`: run the ingest service, and read what it kept as dead letters."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated
from urllib.parse import unquote, urlsplit

import typer
from rich.console import Console
from rich.table import Table

from services.ingest.errors import IngestError, NotConnectedError, SettingsError
from services.ingest.influx import InfluxSettings
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings, MqttProtocol
from services.ledger import Ledger, LedgerError

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Book the gateways' messages into the ledger and InfluxDB.", no_args_is_help=True
)

DEFAULT_LEDGER = "sqlite:///officina.db"
STATUS_EVERY_S = 60.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def parse_broker(url: str) -> tuple[str, int, str | None, str | None]:
    """Host, port, user and password of an `mqtt://[user[:password]@]host[:port]` URL."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt":
        raise typer.BadParameter("expected mqtt://host:port", param_hint="--broker")
    try:
        port = parts.port or 1883
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--broker") from err
    if not parts.hostname:
        raise typer.BadParameter("no host in the broker URL", param_hint="--broker")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, user, password


@app.command()
def run(
    broker: Annotated[
        str, typer.Option(help="mqtt://[user[:password]@]host[:port]", envvar="OFFICINA_BROKER")
    ] = "mqtt://127.0.0.1:1883",
    ledger: Annotated[
        str, typer.Option(help="SQLAlchemy URL of the ledger", envvar="OFFICINA_LEDGER")
    ] = DEFAULT_LEDGER,
    influx_url: Annotated[
        str | None, typer.Option(help="InfluxDB base URL; leave out to skip telemetry")
    ] = None,
    influx_db: Annotated[str, typer.Option(help="InfluxDB v1 database (or DBRP)")] = "officina",
    influx_token: Annotated[
        str | None, typer.Option(help="InfluxDB 2.x/3.x token", envvar="OFFICINA_INFLUX_TOKEN")
    ] = None,
    influx_rp: Annotated[str | None, typer.Option(help="InfluxDB retention policy")] = None,
    client_id: Annotated[
        str, typer.Option(help="MQTT client id; keep it stable across restarts")
    ] = "officina-ingest",
    shared_group: Annotated[
        str | None, typer.Option(help="share the subscription with other ingests in this group")
    ] = None,
    mqtt_version: Annotated[
        MqttProtocol, typer.Option(help="5 for Mosquitto, 3.1.1 for the embedded broker")
    ] = MqttProtocol.V5,
) -> None:
    """Run ingest until Ctrl-C or SIGTERM."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    host, port, user, password = parse_broker(broker)
    try:
        influx = (
            InfluxSettings(
                url=influx_url, database=influx_db, token=influx_token, retention_policy=influx_rp
            )
            if influx_url
            else None
        )
        settings = IngestSettings(
            broker_host=host,
            broker_port=port,
            username=user,
            password=password,
            client_id=client_id,
            shared_group=shared_group,
            ledger_url=ledger,
            influx=influx,
            protocol=mqtt_version,
        )
    except SettingsError as err:
        raise typer.BadParameter(str(err)) from err
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("ingest stopping (%s)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        with Ingest(settings) as ingest:
            try:
                ingest.wait_connected(10.0)
            except NotConnectedError as err:
                log.warning("%s; still trying", err)
            while not stop.wait(STATUS_EVERY_S):
                log.info("ingest counters: %s", dict(sorted(ingest.counters.items())))
            log.info("ingest counters at stop: %s", dict(sorted(ingest.counters.items())))
    except (IngestError, LedgerError) as err:
        log.error("ingest cannot run: %s", err)
        raise typer.Exit(1) from err


@app.command("dead-letters")
def dead_letters(
    ledger: Annotated[
        str, typer.Option(help="SQLAlchemy URL of the ledger", envvar="OFFICINA_LEDGER")
    ] = DEFAULT_LEDGER,
    limit: Annotated[int, typer.Option(min=1, help="show at most this many, newest first")] = 50,
) -> None:
    """List rejected messages, newest first, with what was wrong and their raw bytes."""
    console = Console()
    try:
        opened = Ledger.open(ledger)
    except LedgerError as err:
        console.print(f"[red]cannot open the ledger:[/red] {err}")
        raise typer.Exit(1) from err
    try:
        letters = opened.dead_letters(limit=limit)
    finally:
        opened.close()
    if not letters:
        console.print("No dead letters.")
        return
    table = Table(title=f"Dead letters ({len(letters)} newest)")
    for column in ("id", "received (UTC)", "topic", "field", "error", "raw"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        raw = repr(letter.raw[:60]) + ("…" if len(letter.raw) > 60 else "")
        table.add_row(
            str(letter.id),
            letter.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            letter.topic,
            letter.field or "",
            letter.error,
            raw,
        )
    console.print(table)
