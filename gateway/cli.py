"""`officina gateway …`: run the edge daemon, or check its configuration."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from contract.terminal import labelled, plain
from gateway.config import GatewayConfig, load_config
from gateway.daemon import Gateway
from gateway.errors import ConfigError, GatewayError
from gateway.wiring import check_machine

app = typer.Typer(help="The edge daemon on the Raspberry Pi next to the machines.")
log = logging.getLogger(__name__)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The gateway's TOML file.")]


def _load(path: Path) -> GatewayConfig:
    """The configuration `check` and `run` both start from: refused alike, one line a problem."""
    try:
        config = load_config(path)
        # The broker's certificate files, as `run` would open them.
        config.broker.options()
    except ConfigError as err:
        # Plain lines, not rich markup: an id pattern's brackets would be taken for a style.
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from err
    return config


@app.command()
def check(
    config: ConfigOption = Path("gateway.toml"),
    live: Annotated[
        float,
        typer.Option(
            min=0,
            help="Then exercise the hardware this many seconds: click relays, show amps, cards.",
        ),
    ] = 0.0,
    machine: Annotated[str | None, typer.Option(help="Only this machine (with --live).")] = None,
) -> None:
    """Validate the configuration and show its machines; with --live, test their wiring."""
    loaded = _load(config)
    table = Table(title=f"gateway {loaded.gateway} at {loaded.site}")
    for column in ("machine", "drivers", "idle A", "run A", "idle timeout s"):
        table.add_column(column)
    for m in loaded.machines:
        table.add_row(
            m.id,
            ", ".join(
                f"{role} {cfg.driver}"
                for role, cfg in (("current", m.current), ("reader", m.reader), ("relay", m.relay))
                if cfg is not None
            ),
            f"{m.idle_amps:g}",
            f"{m.run_amps:g}",
            f"{m.idle_timeout_s:g}",
        )
    Console().print(table)
    if live:
        _check_live(loaded, live, machine)


def _check_live(config: GatewayConfig, seconds: float, only: str | None) -> None:
    out = Console()
    key = config.site_key_bytes()
    failed = False
    for machine in config.machines:
        if only is not None and machine.id != only:
            continue
        out.print(
            labelled(f"{machine.id}:", "hold a card to the reader, run the machine…", style="bold")
        )
        ok = check_machine(
            machine,
            site_key=key,
            seconds=seconds,
            report=lambda e: out.print(plain(f"  {e.what:8} {e.detail}")),
        )
        failed |= not ok
    if failed:
        raise typer.Exit(1)


@app.command()
def run(config: ConfigOption = Path("gateway.toml")) -> None:
    """Run the gateway until SIGINT or SIGTERM; the machines lock when it stops."""
    cfg = _load(config)
    try:
        gateway = Gateway(cfg)
    except GatewayError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from err
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with gateway:
        log.info("gateway %s running %d machine(s)", cfg.gateway, len(cfg.machines))
        gateway.wait(stop)
