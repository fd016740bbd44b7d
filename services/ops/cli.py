"""`officina broker-acl`, `officina init`, `officina backup` and `officina restore`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.cli_options import LedgerOption
from services.ledger import LedgerError, open_existing
from services.ops.backup import backup, restore
from services.ops.broker_acl import ServiceLogin, broker_files, write_broker_files
from services.ops.errors import OpsError
from services.ops.init import write_env

app = typer.Typer(help="Run the workshop's server: broker files, secrets, backups.")


def _fail(err: Exception) -> typer.Exit:
    typer.echo(f"error: {err}", err=True)
    return typer.Exit(1)


@app.command("broker-acl")
def broker_acl(
    ledger: LedgerOption,
    ingest_password: Annotated[str, typer.Option(envvar="MQTT_INGEST_PASSWORD")],
    api_password: Annotated[str, typer.Option(envvar="MQTT_API_PASSWORD")],
    password_file: Annotated[Path, typer.Option(help="Mosquitto's password_file.")],
    acl_file: Annotated[Path, typer.Option(help="Mosquitto's acl_file.")],
    ingest_user: Annotated[str, typer.Option(envvar="MQTT_INGEST_USER")] = "ingest",
    api_user: Annotated[str, typer.Option(envvar="MQTT_API_USER")] = "api",
) -> None:
    """Write Mosquitto's password and ACL files from the machine registry."""
    try:
        engine = open_existing(ledger)
        try:
            files = broker_files(
                engine,
                ingest=ServiceLogin(username=ingest_user, password=ingest_password),
                api=ServiceLogin(username=api_user, password=api_password),
            )
        finally:
            engine.dispose()
        write_broker_files(files, password_file=password_file, acl_file=acl_file)
    except (OpsError, LedgerError) as err:
        raise _fail(err) from err
    typer.echo(f"{len(files.gateways)} gateways: {', '.join(files.gateways) or 'none'}")
    for gateway in files.without_login:
        typer.echo(f"warning: {gateway} has machines but no login yet: it cannot connect", err=True)
    typer.echo("reload Mosquitto to apply (docker compose kill -s HUP mosquitto)")


@app.command("init")
def init(
    env_file: Annotated[Path, typer.Option(help="Where to write the secrets.")] = Path(".env"),
    site: Annotated[str, typer.Option(help="This server's site id.")] = "officina",
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Generate the server's `.env`, every secret fresh."""
    try:
        write_env(env_file, site=site, force=force)
    except OpsError as err:
        raise _fail(err) from err
    typer.echo(f"wrote {env_file}; keep it secret and back it up")


@app.command("backup")
def backup_command(
    ledger: LedgerOption,
    archive: Annotated[Path, typer.Option("--to", help="The archive to write (.tar.gz).")],
    config: Annotated[
        list[Path] | None, typer.Option(help="A configuration file to include (repeatable).")
    ] = None,
) -> None:
    """Back up the ledger and the configuration into one archive."""
    try:
        report = backup(ledger, archive=archive, config_files=config or [])
    except OpsError as err:
        raise _fail(err) from err
    typer.echo(
        f"{archive}: {sum(report.rows.values())} ledger rows ({report.ledger_format}), "
        f"{len(report.config_files)} config files"
    )


@app.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="An archive made by `officina backup`.")],
    ledger: LedgerOption,
    config_dir: Annotated[
        Path | None, typer.Option(help="Where to put the configuration files.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing config files.")] = False,
) -> None:
    """Restore the ledger (into an empty database) and the configuration."""
    try:
        report = restore(archive, ledger_url=ledger, config_dir=config_dir, overwrite=overwrite)
    except OpsError as err:
        raise _fail(err) from err
    typer.echo(f"restored {sum(report.rows.values())} ledger rows from {archive}")
