"""The `officina demo` command: the floor live while a month runs, then the month's statements."""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live as RichLive
from rich.table import Table

from contract import MachineState
from contract.terminal import plain
from officina.showcase import Live, ShowcaseOptions, ShowcaseReport, run_showcase
from officina.simulation.workshop import MEMBERS
from services.billing.errors import BillingInputError
from services.billing.months import Month
from services.cli_options import DEFAULT_INFLUX_DB, InfluxDbOption
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


def _last_month() -> str:
    today = date.today()
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"


def _floor_table(live: Live) -> Table:
    c = live.ingest.counters
    table = Table(
        title=f"officine-zero, {live.simulated_day}",
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


def _statements(console: Console, report: ShowcaseReport, workdir: Path | None) -> None:
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
        kept = "" if workdir else " (a temporary directory: pass --workdir to keep them)"
        console.print(f"{len(report.pdfs)} PDF statements written to {where}{kept}")
    if report.differences:
        console.print("[bold red]The statements differ from the ground truth:[/]")
        for line in report.differences:
            console.print(plain(f"  {line}"))
        raise typer.Exit(1)
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
    seed: Annotated[int, typer.Option(help="Seed of the members' habits.")] = 2026,
    workdir: Annotated[
        Path | None, typer.Option(help="Keep the ledger, logs and PDFs here (default: temp dir).")
    ] = None,
) -> None:
    """A month of a busy workshop through gateways, broker, ingest, ledger, api and billing."""
    try:
        the_month = Month.parse(month or _last_month())
    except BillingInputError as err:
        raise typer.BadParameter(str(err), param_hint="--month") from err
    console = Console()
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
        workdir=workdir,
        api_port=api_port,
        seed=seed,
    )
    console.print(
        f"officina demo: {the_month} at officine-zero, "
        + (f"{speed:g}× in opening hours" if speed else "flat out")
        + "; Ctrl-C stops it"
    )
    started = time.monotonic()
    with RichLive(console=console, refresh_per_second=4, transient=False) as live:
        report = run_showcase(
            options,
            stop,
            lambda now: live.update(_floor_table(now)),
            lambda url, password: live.console.print(
                f"live floor: {url}  (log in as coordinator, password {password})", soft_wrap=True
            ),
        )
    console.print(f"(ran {time.monotonic() - started:.0f} s)")
    _statements(console, report, workdir)
