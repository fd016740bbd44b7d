"""`officina broker-acl`, `init`, `doctor`, `backup` and `restore`: running the server."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from contract.mqtt_cli import (
    DEFAULT_BROKER,
    BrokerCaOption,
    BrokerCertOption,
    BrokerKeyOption,
    BrokerUrlOption,
    broker_options,
)
from services.cli_options import (
    DEFAULT_INFLUX_DB,
    DEFAULT_LEDGER_URL,
    InfluxDbOption,
    InfluxTokenOption,
    InfluxUrlOption,
    LedgerOption,
)
from services.ledger import LedgerError, open_existing
from services.ops.backup import backup, restore
from services.ops.broker_acl import ServiceLogin, broker_files, write_broker_files
from services.ops.doctor import SiteChecks, run_checks, secrets_in_use
from services.ops.errors import OpsError
from services.ops.first_admin import make_first_admin, migrate_ledger
from services.ops.init import read_env, write_env

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
    write_env_file: Annotated[
        bool,
        typer.Option("--env/--no-env", help="Write the `.env` of secrets when there is none."),
    ] = True,
    admin: Annotated[
        str | None,
        typer.Option(
            help="Also make the ledger (or migrate it) and its first admin login with this "
            "user name; the password is asked for, or read from standard input."
        ),
    ] = None,
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Make or migrate the ledger (--admin does too).")
    ] = False,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Generate the server's `.env`, every secret fresh; with --admin, the first admin login."""
    if write_env_file:
        if env_file.exists() and not force:
            if admin is None and not migrate:
                raise _fail(
                    OpsError(f"{env_file} exists: its secrets are in use (--force replaces them)")
                )
            typer.echo(f"kept {env_file}: its secrets are in use")
        else:
            try:
                write_env(env_file, site=site, force=force)
            except OpsError as err:
                raise _fail(err) from err
            typer.echo(f"wrote {env_file}; keep it secret and back it up")
    try:
        if admin is not None:
            ready = make_first_admin(ledger, username=admin, password=_new_password())
        elif migrate:
            ready = migrate_ledger(ledger)
        else:
            return
    except OpsError as err:
        raise _fail(err) from err
    typer.echo(f"ledger {ready.ledger} is at revision {ready.revision}")
    if admin is not None:
        typer.echo(f"admin {admin!r} created: log in at the api's /login")


def _new_password() -> str:
    """The new admin's password: asked twice on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return str(
            typer.prompt("password for the admin", hide_input=True, confirmation_prompt=True)
        )
    return sys.stdin.readline().rstrip("\r\n")


@app.command("doctor")
def doctor_command(
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    broker: BrokerUrlOption = DEFAULT_BROKER,
    broker_ca: BrokerCaOption = None,
    broker_cert: BrokerCertOption = None,
    broker_key: BrokerKeyOption = None,
    influx_url: InfluxUrlOption = None,
    influx_db: InfluxDbOption = DEFAULT_INFLUX_DB,
    influx_token: InfluxTokenOption = None,
    env_file: Annotated[
        Path | None,
        typer.Option(help="A `.env` whose secrets are checked too (those of `officina init`)."),
    ] = None,
    silent_hours: Annotated[
        float, typer.Option(min=0, help="A gateway not heard from for longer needs a look.")
    ] = 24.0,
) -> None:
    """Check the site end to end; print, for each check, ok or what to fix."""
    options = broker_options(broker, broker_ca, broker_cert, broker_key)
    try:
        extra = read_env(env_file) if env_file is not None else {}
    except OpsError as err:
        raise _fail(err) from err
    site = SiteChecks(
        ledger_url=ledger,
        broker=options,
        influx_url=influx_url,
        influx_db=influx_db,
        influx_token=influx_token,
        secrets=secrets_in_use(os.environ, extra),
        silent_after=timedelta(hours=silent_hours),
    )
    findings = run_checks(site)
    for finding in findings:
        typer.echo(finding.line())
    if any(finding.needs_fixing for finding in findings):
        raise typer.Exit(1)


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
