"""The `officina` command: each part of the system mounts its own sub-commands here."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Collection, Sequence
from importlib import metadata
from typing import Annotated

import typer

# Each group of sub-commands: the module and name of its Typer app, in the order `--help` shows
# them. A group's code is imported only when the command needs it, so that a server (ingest, the
# api, the scheduler) holds its own part of officina in memory and not all of it.
GROUPS: dict[str, tuple[str, str]] = {
    "gateway": ("gateway.cli", "app"),
    "ingest": ("services.ingest.cli", "app"),
    "contract": ("contract.cli", "app"),
    "api": ("services.api.cli", "app"),
    "dashboards": ("dashboards.cli", "app"),
    "statements": ("services.billing.cli", "statements_app"),
    "billing": ("services.billing.cli", "billing_app"),
    "webhooks": ("services.webhooks.cli", "app"),
}
HELP = "officina: machine usage, live floor and fair cost splits for shared workshops."

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


def build_app(groups: Collection[str] | None = None) -> typer.Typer:
    """The `officina` command with every sub-command (None), or with only the named groups."""
    app = typer.Typer(help=HELP, no_args_is_help=True)
    app.callback()(main)
    for name, (module, attribute) in GROUPS.items():
        if groups is None or name in groups:
            app.add_typer(getattr(importlib.import_module(module), attribute), name=name)
    if groups is None:
        from officina.demo_cli import demo
        from services.ops import cli as ops

        app.command()(demo)
        app.command("broker-acl")(ops.broker_acl)
        app.command("init")(ops.init)
        app.command("doctor")(ops.doctor_command)
        app.command("backup")(ops.backup_command)
        app.command("restore")(ops.restore_command)
    return app


def invoked_group(args: Sequence[str]) -> str | None:
    """The sub-command group the arguments name, past the top-level options; None if none."""
    words = iter(args)
    for word in words:
        if word == "--log-level":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in GROUPS else None
    return None


def run() -> None:
    """The `officina` command as installed: a server loads only its own group's code."""
    group = invoked_group(sys.argv[1:])
    build_app([group] if group in DAEMON_GROUPS else None)(prog_name="officina")


_full_app: typer.Typer | None = None


def __getattr__(name: str) -> typer.Typer:
    # `app`, the whole command (for tests and tools that import it), is built on first use.
    global _full_app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _full_app is None:
        _full_app = build_app()
    return _full_app
