"""The `officina demo` command: the floor live while a month runs, then the month's statements.

Everything the demo makes stays in its folder (`./demo` by default); after the month the api and
the floor go on serving, their pages on the simulated month, until Ctrl-C.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live as RichLive
from rich.table import Table

from contract import MachineState
from contract.terminal import plain
from officina.demo_workdir import WorkdirRefusedError, claim_workdir
from officina.showcase import Live, ShowcaseOptions, ShowcaseReport, run_showcase
from officina.simulation.workshop import MEMBERS
from services.billing.errors import BillingInputError
from services.billing.months import Month
from services.cli_options import DEFAULT_INFLUX_DB, InfluxDbOption
from services.fiscal import BillingMode
from services.influx import InfluxSettings

STATE_STYLE = {
    MachineState.RUNNING: "bold green",
    MachineState.IDLE: "yellow",
    MachineState.UNLOCKED: "cyan",
    MachineState.LOCKED: "dim",
    MachineState.FAULT: "bold red",
    MachineState.OFFLINE: "red",
}
NAMES = {m.id: m.name for m in MEMBERS}
DEFAULT_WORKDIR = Path("demo")
LOG_FILE = "officina-demo.log"


def _last_month() -> str:
    today = date.today()
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"


class MonthProgress:
    """The simulated day of the month and how long the rest of the month should take."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # When each open day began, by `clock`: the pace of the days played so far.
        self._began: dict[int, float] = {}
        self.printed_day = -1

    def line(self, live: Live) -> str:
        """`day 3 of 21 (2026-10-05), about 1 min 20 s left`, or a start line before day one."""
        return self.of(live.simulated_day, live.days_begun, live.days_planned)

    def of(self, day: str, begun: int, planned: int) -> str:
        """The line for the `begun`-th open day of `planned`, `day` being its date."""
        if begun == 0:
            return "the month is starting"
        now = self._clock()
        self._began.setdefault(begun, now)
        text = f"day {begun} of {planned} ({day})"
        first = min(self._began)
        if begun == first:
            return text
        began = self._began[begun]
        per_day = (began - self._began[first]) / (begun - first)
        left = per_day * (planned - begun + 1) - (now - began)  # this day included
        return f"{text}, about {_duration(max(left, 0.0))} left"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _floor_table(live: Live, progress: str) -> Table:
    c = live.ingest.counters
    table = Table(
        title=f"officine-zero, {progress}",
        caption=(
            f"ingest: {c.get('received', 0)} messages, {c.get('sessions_booked', 0)} sessions "
            f"booked, {c.get('rejected', 0)} rejected · {live.api_url}"
        ),
    )
    for column in ("machine", "state", "member", "since", "amps"):
        table.add_column(column, justify="right" if column == "amps" else "left")
    for view in live.watcher.machines():
        locked = view.state in {MachineState.LOCKED, MachineState.OFFLINE}
        since = (
            datetime.fromtimestamp(view.since_ms / 1000, UTC).astimezone().strftime("%d %b %H:%M")
            if view.since_ms
            else "—"
        )
        table.add_row(
            view.machine,
            f"[{STATE_STYLE[view.state]}]{view.state}[/]",
            NAMES.get(view.member or "", view.member or "—"),
            since,
            "—" if locked else f"{view.amps:5.2f}",
        )
    return table


def _euro(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def _statements(console: Console, report: ShowcaseReport) -> None:
    truth = report.truth
    console.print(
        f"\n{len(truth.sessions)} sessions made on the floor, {report.booked} booked in the "
        f"ledger; {sum(truth.samples.values())} current samples."
    )
    c = report.ingest_counters
    console.print(
        f"ingest: {c.get('received', 0)} messages received, {c.get('sessions_booked', 0)} "
        f"sessions booked, {c.get('telemetry', 0)} telemetry points, "
        f"{c.get('rejected', 0)} rejected"
    )
    if report.statements is None:
        console.print("[yellow]The month did not finish: no statements were made.[/]")
        return
    table = Table(title=f"statements of {report.statements.month}")
    for column in ("member", "sessions", "machines", "fee", "shared", "VAT", "total EUR"):
        table.add_column(column, justify="left" if column == "member" else "right")
    for s in report.statements.statements:
        table.add_row(
            s.member.name,
            str(len(s.charges)),
            _euro(s.direct_cents),
            _euro(s.fee_cents),
            _euro(s.pool_cents),
            _euro(s.vat_cents),
            f"[bold]{_euro(s.total_cents)}[/]",
        )
    console.print(table)
    if report.projected:
        console.print(f"{report.projected} pool shares written to InfluxDB for the dashboards")
    where = report.pdfs[0].parent if report.pdfs else None
    if where is not None:
        console.print(
            f"{len(report.pdfs)} PDF statements and {len(report.exports)} CSV exports "
            f"written to {where}"
        )
    if report.registers:
        register = f"the register ({', '.join(p.name for p in report.registers)})"
        if report.bundle is None:  # rendiconto mode: an association's statements are no fatture
            console.print(f"{register} written beside them; no FatturaPA files", soft_wrap=True)
        else:
            console.print(
                f"{len(report.fatture)} FatturaPA files, the SdI bundle {report.bundle.name} and "
                f"{register} written beside them",
                soft_wrap=True,
            )
    if report.differences:
        console.print("[bold red]The statements differ from the ground truth:[/]")
        for line in report.differences:
            console.print(plain(f"  {line}"))
        return
    console.print(
        "[bold green]Every statement equals, to the cent, the one made from what really "
        "happened on the floor.[/]"
    )


def demo(
    month: Annotated[
        str | None, typer.Option(help="The month to simulate, YYYY-MM (default: last month).")
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0, help="Simulated seconds per real second in opening hours (0: flat out)."
        ),
    ] = 3600.0,
    days: Annotated[
        int | None, typer.Option(min=1, help="Simulate only the month's first N open days.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option("--for", min=1, help="Stop after this many real seconds.")
    ] = None,
    broker: Annotated[
        str | None, typer.Option(help="Use this MQTT broker (mqtt://host:port) instead of amqtt.")
    ] = None,
    influx_url: Annotated[
        str | None, typer.Option(help="InfluxDB URL (v1 API) for telemetry; off by default.")
    ] = None,
    influx_db: InfluxDbOption = DEFAULT_INFLUX_DB,
    api_port: Annotated[int, typer.Option(help="Port of the live floor page (0: any).")] = 0,
    seed: Annotated[
        int, typer.Option(help="Seed of the members' habits and of their billing parties.")
    ] = 2026,
    fiscal_mode: Annotated[
        BillingMode,
        typer.Option(
            help="fattura: a cooperative issuing FatturaPA invoices; rendiconto: an "
            "association's statements outside VAT."
        ),
    ] = BillingMode.FATTURA,
    workdir: Annotated[
        Path,
        typer.Option(
            help="Write the ledger, logs, floor and statements here; a folder the demo made "
            "before is replaced, any other must be empty or new."
        ),
    ] = DEFAULT_WORKDIR,
    exit_after: Annotated[
        bool,
        typer.Option(
            "--exit", help="End after the month instead of serving the pages until Ctrl-C."
        ),
    ] = False,
) -> None:
    """A month of a busy workshop through gateways, broker, ingest, ledger, api and billing."""
    try:
        the_month = Month.parse(month or _last_month())
    except BillingInputError as err:
        raise typer.BadParameter(str(err), param_hint="--month") from err
    try:
        folder = claim_workdir(workdir).resolve()
    except (WorkdirRefusedError, OSError) as err:
        typer.echo(f"officina demo: --workdir {workdir}: {err}", err=True)
        raise typer.Exit(2) from err
    console = Console()
    console.print(
        f"officina demo: {the_month} at officine-zero, "
        + (f"{speed:g}× in opening hours" if speed else "flat out")
        + f"; writing into {folder} (ledger, floor, logs, statements)",
        soft_wrap=True,
    )
    _log_into(folder / LOG_FILE)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if seconds is not None:
        timer = threading.Timer(seconds, stop.set)
        timer.daemon = True
        timer.start()
    options = ShowcaseOptions(
        month=the_month,
        speed=speed or None,
        days=days,
        broker_url=broker,
        influx=InfluxSettings(url=influx_url, database=influx_db) if influx_url else None,
        workdir=folder,
        api_port=api_port,
        seed=seed,
        fiscal_mode=fiscal_mode,
        serve_after_month=not exit_after,
    )
    console.print(
        "It ends after the month; Ctrl-C ends it sooner."
        if exit_after
        else "After the month its api and floor go on serving until Ctrl-C.",
        soft_wrap=True,
    )
    started = time.monotonic()
    progress = MonthProgress()
    login: dict[str, str] = {}
    display: list[RichLive] = []
    latest: list[Live] = []

    def announce(url: str, password: str) -> None:
        login.update(url=url, password=password)
        console.print(
            f"live floor: {url}  (log in as coordinator, password {password})", soft_wrap=True
        )

    def billed(report: ShowcaseReport) -> None:
        for shown in display:
            if latest:
                shown.update(_floor_table(latest[-1], f"{the_month} is over"))
            shown.stop()  # the floor as it was when the month ended stays above
        console.print(f"(the month took {time.monotonic() - started:.0f} s)")
        _statements(console, report)
        if not exit_after:
            console.print(
                f"\nThe api still answers: {login['url']}  (log in as coordinator, password "
                f"{login['password']}); its pages open on {the_month}. Ctrl-C ends the demo.",
                soft_wrap=True,
            )

    if console.is_terminal:
        with RichLive(console=console, refresh_per_second=4, transient=False) as live:
            display.append(live)

            def tick(now: Live) -> None:
                latest[:] = [now]
                live.update(_floor_table(now, progress.line(now)))

            report = run_showcase(options, stop, tick, announce, billed)
    else:
        report = run_showcase(
            options, stop, lambda now: _plain(console, progress, now), announce, billed
        )
    if not report.finished:
        _statements(console, report)
    console.print(f"The demo ended; what it made is in {folder}", soft_wrap=True)
    if report.differences:
        raise typer.Exit(1)


def _plain(console: Console, progress: MonthProgress, now: Live) -> None:
    """A line for each new day of the month, where no terminal can redraw one."""
    line = progress.line(now)
    if now.days_begun != progress.printed_day:
        console.print(line, soft_wrap=True)
        progress.printed_day = now.days_begun


class _NotTheEmbeddedBroker(logging.Filter):
    """Keeps the embedded broker's own lines off the terminal: they go to the demo's log only.

    amqtt reports a client's reconnection (a take-over) with warnings, and on a loaded machine
    sometimes with a traceback of its own; neither is something the demo's user can act on.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "amqtt" or record.name.startswith("amqtt."))


def _log_into(path: Path) -> None:
    """Every part's log lines from INFO up into the demo's folder; the terminal keeps its level."""
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(root.level)
        handler.addFilter(_NotTheEmbeddedBroker())
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    root.addHandler(file_handler)
    root.setLevel(min(root.level, logging.INFO))
