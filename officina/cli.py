"""The `officina` command: each part of the system mounts its own sub-commands here."""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Annotated

import typer

from contract.cli import app as contract_app
from dashboards.cli import app as dashboards_app
from gateway.cli import app as gateway_app
from officina.demo_cli import demo
from services.api.cli import app as api_app
from services.billing.cli import billing_app, statements_app
from services.ingest.cli import app as ingest_app
from services.ops import cli as ops
from services.webhooks.cli import app as webhooks_app

app = typer.Typer(
    help="officina: machine usage, live floor and fair cost splits for shared workshops.",
    no_args_is_help=True,
)
app.add_typer(gateway_app, name="gateway")
app.add_typer(ingest_app, name="ingest")
app.add_typer(contract_app, name="contract")
app.add_typer(api_app, name="api")
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(statements_app, name="statements")
app.add_typer(billing_app, name="billing")
app.add_typer(webhooks_app, name="webhooks")
app.command()(demo)
app.command("broker-acl")(ops.broker_acl)
app.command("init")(ops.init)
app.command("doctor")(ops.doctor_command)
app.command("backup")(ops.backup_command)
app.command("restore")(ops.restore_command)


# The long-running commands say where they are (address, broker, ledger) unless told otherwise.
DAEMON_GROUPS = frozenset({"api", "ingest", "statements"})


def _show_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"officina {_installed_version()}")
        raise typer.Exit


def _installed_version() -> str:
    try:
        return metadata.version("officina")
    except metadata.PackageNotFoundError:
        return "(not installed)"


@app.callback()
def main(
    ctx: typer.Context,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            help="debug, info, warning or error (info for the servers, else warning).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Set up logging for whichever sub-command runs."""
    if log_level is None:
        log_level = "info" if ctx.invoked_subcommand in DAEMON_GROUPS else "warning"
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise typer.BadParameter(f"--log-level: unknown level {log_level!r}")
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True
    )
