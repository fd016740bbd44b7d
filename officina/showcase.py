"""`officina demo`: a month of a busy workshop through the whole system, on the embedded default.

Three gateway processes play the month at their machines (`officina.simulation`), publishing to
an MQTT broker (embedded amqtt unless one is given); ingest books it into a SQLite ledger (and
InfluxDB if given); the api serves the live floor page; at the end of the month the statements
are made, drafted in the ledger, written as PDFs and CSV exports, and checked against the ground
truth the floors wrote down. The month is issued the morning after it ends: in `fattura` mode
(the default, a cooperative) each statement's FatturaPA file, the month's SdI bundle and the
accountant's register are written beside the PDFs; in `rendiconto` mode (an association) the
statements and the register, and no XML. Then, if asked, the api and the floor go on serving,
their pages open on the simulated month, until `stop` is set.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contract.mqtt import BrokerOptions, MqttOptionsError, MqttProtocol
from contract.secrets import DEMO_PSEUDONYM_KEY
from officina.embedded_broker import EmbeddedBroker
from officina.simulation.fiscal import workshop_profile
from officina.simulation.month import MonthPlan, MonthRun
from officina.simulation.schedule import open_days
from officina.simulation.truth import Truth, differences, read_truth, truth_statements
from officina.simulation.workshop import GATEWAYS, SITE, SITE_KEY, TIMEZONE, enter_workshop
from officina.watch import FloorWatcher
from services.api.accounts import add_user
from services.api.app import create_app
from services.api.security import PasswordCost, Passwords, Role
from services.api.settings import ApiSettings
from services.billing.engine import MonthStatements, bill_month
from services.billing.exports import lines_csv, register_csv
from services.billing.fiscal_issue import bills_fatture
from services.billing.months import Month, local_midnight
from services.billing.projection import PoolProjector
from services.billing.register import register_csv as fiscal_register_csv
from services.billing.register import register_json
from services.billing.service import Billing
from services.billing.settings import BillingSettings, Workshop
from services.billing.store import BillingLedger
from services.fiscal import BillingMode, Locale
from services.influx import InfluxClient, InfluxSettings
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings
from services.ledger.db import open_ledger
from services.ledger.models import SessionRow

log = logging.getLogger(__name__)

COORDINATOR = "coordinator"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowcaseOptions:
    """What the demo runs on, which month, and how fast."""

    month: Month
    speed: float | None = 3600.0
    days: int | None = None
    broker_url: str | None = None
    influx: InfluxSettings | None = None
    workdir: Path | None = None
    api_port: int = 0
    seed: int = 2026
    # Fatture from a cooperative, or an association's rendiconti.
    fiscal_mode: BillingMode = BillingMode.FATTURA
    # After the month the api and the floor go on serving until `stop` is set.
    serve_after_month: bool = False


@dataclass(slots=True)
class ShowcaseReport:
    """What the month made, what was booked, and the statements."""

    truth: Truth
    booked: int
    statements: MonthStatements | None = None
    differences: list[str] = field(default_factory=list)
    pdfs: list[Path] = field(default_factory=list)
    exports: list[Path] = field(default_factory=list)
    fatture: list[Path] = field(default_factory=list)  # one FatturaPA file per issued statement
    bundle: Path | None = None  # the month's files zipped for the SdI intermediary
    registers: list[Path] = field(default_factory=list)  # the accountant's, CSV and JSON
    ingest_counters: dict[str, int] = field(default_factory=dict)
    finished: bool = False
    projected: int = 0  # pool shares written to InfluxDB


@dataclass(frozen=True, slots=True)
class Live:
    """What the demo shows while the month runs."""

    watcher: FloorWatcher
    ingest: Ingest
    simulated_day: str
    api_url: str
    password: str
    # Open days begun and open days the run plays: the month's progress.
    days_begun: int = 0
    days_planned: int = 0


Tick = Callable[[Live], None]
Billed = Callable[[ShowcaseReport], None]


@contextlib.contextmanager
def _broker(url: str | None) -> Iterator[BrokerOptions]:
    if url is not None:
        try:
            yield BrokerOptions.from_url(url, protocol=MqttProtocol.V5)
        except MqttOptionsError as err:
            raise ValueError(f"--broker: {err}") from err
        return
    with EmbeddedBroker() as embedded:
        # amqtt 0.12 speaks MQTT 3.1.1 only.
        yield BrokerOptions(host=embedded.host, port=embedded.port, protocol=MqttProtocol.V311)


@contextlib.contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="officina-demo-") as tmp:
        yield Path(tmp)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _ApiServer:
    """The api in a thread of this process, on a free loopback port."""

    def __init__(self, settings: ApiSettings, port: int) -> None:
        self.port = port or _free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            proxy_headers=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="api", daemon=True)

    def __enter__(self) -> _ApiServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def _add_coordinator(ledger_url: str, password: str) -> None:
    engine = open_ledger(ledger_url)
    try:
        with Session(engine) as db:
            add_user(
                db,
                passwords=Passwords(PasswordCost()),
                username=COORDINATOR,
                password=password,
                role=Role.COORDINATOR,
                now=datetime.now(UTC),
            )
            db.commit()
    finally:
        engine.dispose()


def _booked(ledger_url: str) -> int:
    engine = open_ledger(ledger_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(SessionRow)) or 0)
    finally:
        engine.dispose()


def last_day(month: Month) -> date:
    """The month's last day: the day the demo's pages open on."""
    return month.next().first_day - timedelta(days=1)


def run_showcase(
    options: ShowcaseOptions,
    stop: threading.Event,
    on_tick: Tick,
    announce: Callable[[str, str], None] | None = None,
    on_billed: Billed | None = None,
) -> ShowcaseReport:
    """Run the month (or until `stop`), bill it, check the bill against the truth, then serve.

    `on_billed` is told the report while the api still answers; with `serve_after_month` the
    api and the floor go on until `stop` is set.
    """
    with _workdir(options.workdir) as workdir, _broker(options.broker_url) as broker:
        floor_dir = workdir / "floor"
        shutil.rmtree(floor_dir, ignore_errors=True)
        ledger_path = workdir / "officina-demo.db"
        ledger_path.unlink(missing_ok=True)
        ledger_url = f"sqlite:///{ledger_path}"
        enter_workshop(ledger_url, options.month, seed=options.seed)
        password = secrets.token_urlsafe(12)
        _add_coordinator(ledger_url, password)
        broker_url = broker.url
        ingest_settings = IngestSettings(
            broker=broker.but(client_id=f"officina-ingest-demo-{time.time_ns()}"),
            ledger_url=ledger_url,
            influx=options.influx,
            pseudonym_key=DEMO_PSEUDONYM_KEY,
            demo=True,
        )
        api_settings = ApiSettings(
            site=SITE,
            ledger_url=ledger_url,
            broker=broker.but(
                client_id=f"officina-api-demo-{time.time_ns()}", protocol=MqttProtocol.V311
            ),
            secret=secrets.token_urlsafe(32),
            site_key=SITE_KEY,
            pseudonym_key=DEMO_PSEUDONYM_KEY,
            demo=True,
            timezone=TIMEZONE,
            # The demo serves plain http on loopback.
            cookie_secure=False,
            pages_as_of=last_day(options.month),
            billing=billing_settings(options),
        )
        plan = MonthPlan(
            month=options.month,
            workdir=floor_dir,
            broker_urls=dict.fromkeys(GATEWAYS, broker_url),
            seed=options.seed,
            speed=options.speed,
            days=options.days,
            # One telemetry point every five simulated minutes: the embedded broker is an
            # in-process Python one, and a month at every sample would mostly be telemetry.
            telemetry_every=5,
        )
        planned = len(open_days(options.month, ZoneInfo(TIMEZONE))[: options.days])
        day = {"now": "—"}
        begun = {"days": 0}

        def on_event(_run: MonthRun, gateway: str, event: dict[str, object]) -> None:
            if event.get("event") == "day" and gateway == GATEWAYS[0]:
                day["now"] = str(event["day"])
                begun["days"] += 1

        with (
            Ingest(ingest_settings) as ingest,
            FloorWatcher(broker=broker.but(protocol=MqttProtocol.V311), site=SITE) as watcher,
            _ApiServer(api_settings, options.api_port) as api,
        ):
            ingest.wait_connected(10.0)
            watcher.wait_subscribed(10.0)
            api_url = f"http://127.0.0.1:{api.port}/floor"
            if announce is not None:
                announce(api_url, password)

            def live() -> Live:
                return Live(watcher, ingest, day["now"], api_url, password, begun["days"], planned)

            with MonthRun(plan, on_event) as run:
                finished = False
                while not stop.wait(0.25):
                    on_tick(live())
                    if run.all_done():
                        finished = True
                        break
                if finished:
                    run.wait(timeout_s=60)
            truth = read_truth(floor_dir)
            report = ShowcaseReport(truth=truth, booked=_booked(ledger_url), finished=finished)
            if finished:
                deadline = time.monotonic() + 120
                while report.booked < len(truth.sessions) and time.monotonic() < deadline:
                    on_tick(live())
                    time.sleep(0.25)
                    report.booked = _booked(ledger_url)
            report.ingest_counters = dict(ingest.counters)
            if finished:
                _bill(options, ledger_url, workdir, report)
                if on_billed is not None:
                    on_billed(report)
                if options.serve_after_month:
                    stop.wait()
        return report


def billing_settings(options: ShowcaseOptions) -> BillingSettings:
    """How Officine Zero bills: its letterhead and its fiscal profile in the demo's mode."""
    return BillingSettings(
        workshop=Workshop(
            name="Officine Zero (simulated)",
            address=("Via dei Lavoratori 1", "00159 Roma"),
            email="tesoreria@officine-zero.example",
            fiscal=workshop_profile(options.seed, options.fiscal_mode),
        ),
        timezone=TIMEZONE,
    )


def _bill(options: ShowcaseOptions, ledger_url: str, workdir: Path, report: ShowcaseReport) -> None:
    """Draft and issue the month's statements, write their documents, and compare with the truth.

    The month is issued at 09:00 on the day after it ends, so the same seed makes the same
    numbers, dates and files whenever the demo runs.
    """
    month = options.month
    tz = ZoneInfo(TIMEZONE)
    issued_at = local_midnight(month.next().first_day, tz) + timedelta(hours=9)
    ledger = BillingLedger.open(ledger_url, clock=lambda: issued_at)
    try:
        billing = Billing(ledger, billing_settings(options), terminal=False)
        billing.make_drafts(month)
        billing.issue(month)
        out = workdir / "statements"
        out.mkdir(exist_ok=True)
        statements = ledger.statements(month)
        for stored in statements:
            path = out / f"{month}-{stored.member}.pdf"
            path.write_bytes(billing.pdf(stored))
            report.pdfs.append(path)
            document = ledger.fiscal_document(stored.id)
            if document is not None:  # fattura mode, and the statement had a line to invoice
                path = out / document.file_name
                path.write_bytes(document.xml)
                report.fatture.append(path)
        for name, export in (("register", register_csv), ("lines", lines_csv)):
            path = out / f"{name}-{month}.csv"
            path.write_text(
                export(statements, billing.tz, billing.settings.locale), encoding="utf-8"
            )
            report.exports.append(path)
        _fiscal_files(billing, Month.of(issued_at.astimezone(tz).date()), out, report)
        if options.influx is not None:
            # The month's pool shares for the Energy and costs dashboard, as of now.
            with InfluxClient(options.influx) as client:
                projector = PoolProjector(billing, client, pseudonym_key=DEMO_PSEUDONYM_KEY)
                report.projected = projector.project(month).points
        inputs = ledger.month_inputs(month, tz)
    finally:
        ledger.close()
    report.statements = bill_month(inputs)
    report.differences = differences(report.statements, truth_statements(inputs, report.truth))


def _fiscal_files(billing: Billing, issued_in: Month, out: Path, report: ShowcaseReport) -> None:
    """The accountant's register of the month the statements were issued in (Italian CSV and
    JSON) and, in fattura mode, its FatturaPA files zipped for the SdI intermediary."""
    if bills_fatture(billing.settings.workshop):
        report.bundle = out / f"fatture-{issued_in}.zip"
        report.bundle.write_bytes(billing.fiscal_bundle(issued_in))
    rows = billing.register(issued_in)
    csv_path = out / f"registro-{issued_in}.csv"
    csv_path.write_text(fiscal_register_csv(rows, Locale.IT), encoding="utf-8")
    json_path = out / f"registro-{issued_in}.json"
    json_path.write_text(register_json(rows), encoding="utf-8")
    report.registers += [csv_path, json_path]
