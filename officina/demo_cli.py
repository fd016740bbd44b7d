"""The `officina demo` command: a live table of the floor and each session as it closes."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from contract import MachineState
from officina.demo import DemoOptions, DemoReport, run_demo
from officina.watch import FloorWatcher
from services.ingest.influx import InfluxSettings
from services.ingest.service import Ingest
from services.ledger.models import SessionRow

STATE_STYLE = {
    MachineState.RUNNING: "bold green",
    MachineState.IDLE: "yellow",
    MachineState.UNLOCKED: "cyan",
    MachineState.LOCKED: "dim",
    MachineState.FAULT: "bold red",
    MachineState.OFFLINE: "red",
}


def _floor_table(watcher: FloorWatcher, ingest: Ingest) -> Table:
    table = Table(title="officina — the floor now", caption=_caption(ingest))
    for column in ("machine", "state", "member", "since", "amps"):
        table.add_column(column, justify="right" if column == "amps" else "left")
    for view in watcher.machines():
        since = (
            datetime.fromtimestamp(view.since_ms / 1000, UTC).astimezone().strftime("%H:%M:%S")
            if view.since_ms
            else "—"
        )
        table.add_row(
            view.machine,
            f"[{STATE_STYLE[view.state]}]{view.state}[/]",
            view.member or "—",
            since,
            f"{view.amps:5.2f}",
        )
    return table


def _caption(ingest: Ingest) -> str:
    c = ingest.counters
    return (
        f"ingest: {c.get('received', 0)} messages, {c.get('sessions_booked', 0)} sessions booked, "
        f"{c.get('rejected', 0)} rejected"
    )


def _session_line(row: SessionRow) -> str:
    return (
        f"session closed: [bold]{row.machine}[/] by [bold]{row.member}[/] — "
        f"running {row.running_s / 60:.1f} min, idle {row.idle_s / 60:.1f} min, "
        f"{row.energy_wh / 1000:.3f} kWh ({row.end_reason})"
    )


def _summary(console: Console, report: DemoReport) -> None:
    console.print()
    table = Table(title="booked in the ledger")
    for column in ("member", "sessions", "running min", "unlocked min", "kWh"):
        table.add_column(column, justify="left" if column == "member" else "right")
    per_member: dict[str, list[SessionRow]] = {}
    for row in report.sessions:
        per_member.setdefault(row.member, []).append(row)
    for member, rows in sorted(per_member.items()):
        table.add_row(
            member,
            str(len(rows)),
            f"{sum(r.running_s for r in rows) / 60:.1f}",
            f"{sum(r.unlocked_s for r in rows) / 60:.1f}",
            f"{sum(r.energy_wh for r in rows) / 1000:.3f}",
        )
    console.print(table)
    console.print(
        f"{report.sessions_published} sessions published by the gateway, "
        f"{len(report.sessions)} booked in the ledger."
    )


def demo(
    broker: Annotated[
        str | None, typer.Option(help="Use this MQTT broker (mqtt://host:port) instead of amqtt.")
    ] = None,
    ledger: Annotated[
        str | None, typer.Option(help="Ledger database URL (default: a SQLite file).")
    ] = None,
    influx_url: Annotated[
        str | None, typer.Option(help="InfluxDB URL (v1 API) for telemetry; off by default.")
    ] = None,
    influx_db: Annotated[str, typer.Option(help="InfluxDB database.")] = "officina",
    speed: Annotated[
        float, typer.Option(min=1, max=3600, help="Simulated seconds per real second.")
    ] = 60.0,
    machines: Annotated[int, typer.Option(min=1, max=4, help="How many machines.")] = 3,
    seconds: Annotated[
        float | None, typer.Option("--for", min=1, help="Stop by itself after this many seconds.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the members' habits.")] = 7,
    workdir: Annotated[
        Path | None, typer.Option(help="Keep the demo's files here (default: a temp dir).")
    ] = None,
) -> None:
    """Run the simulated shop floor through the real gateway, broker, ingest and ledger."""
    console = Console()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    options = DemoOptions(
        broker_url=broker,
        ledger_url=ledger,
        influx=InfluxSettings(url=influx_url, database=influx_db) if influx_url else None,
        speed=speed,
        machines=machines,
        seconds=seconds,
        seed=seed,
        workdir=workdir,
    )
    shown: set[str] = set()
    console.print(
        f"officina demo: {machines} machines at {speed:g}× speed"
        + (f" for {seconds:g} s" if seconds else "; Ctrl-C stops it")
    )
    with Live(console=console, refresh_per_second=4, transient=False) as live:

        def on_tick(watcher: FloorWatcher, ingest: Ingest) -> None:
            for row in ingest.ledger.sessions():
                if row.id not in shown:
                    shown.add(row.id)
                    live.console.print(_session_line(row))
            live.update(_floor_table(watcher, ingest))

        report = run_demo(options, stop, on_tick)
    _summary(console, report)
