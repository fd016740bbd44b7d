"""`officina api …`: serve the api and its pages, and make the first logins."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.orm import Session

from contract import ID_PATTERN, is_id
from contract.mqtt_cli import (
    DEFAULT_BROKER,
    BrokerCaOption,
    BrokerCertOption,
    BrokerKeyOption,
    BrokerUrlOption,
    broker_options,
)
from contract.terminal import help_text
from services.api.accounts import AccountError, add_user
from services.api.app import create_app
from services.api.errors import SettingsError
from services.api.gateways import issue_credentials
from services.api.security import PasswordCost, Passwords, Role
from services.api.settings import ApiSettings
from services.api.state import utc_now
from services.billing.errors import SettingsError as BillingSettingsError
from services.billing.settings import BillingSettings, load_settings
from services.cli_options import (
    DEFAULT_INFLUX_DB,
    DEFAULT_LEDGER_URL,
    DEFAULT_TIMEZONE,
    DemoOption,
    InfluxDbOption,
    InfluxTokenOption,
    InfluxUrlOption,
    LedgerOption,
    PseudonymKeyOption,
    SiteOption,
    TimezoneOption,
    refused,
)
from services.influx import InfluxSettings, InfluxSettingsError
from services.ledger import LedgerError, MemberRow, open_ledger
from services.ledger.db import shown_url

log = logging.getLogger(__name__)

app = typer.Typer(
    help="The api: live floor, registry, access lists, statements, and the web pages.",
    no_args_is_help=True,
)

SHUTDOWN_GRACE_S = 5


def _billing(path: Path | None) -> BillingSettings:
    try:
        return load_settings(path)
    except BillingSettingsError as err:
        raise typer.BadParameter(str(err), param_hint="--billing-config") from err


@app.command()
def run(
    site: SiteOption,
    secret: Annotated[
        str,
        typer.Option(help="keys api tokens (32+ characters)", envvar="OFFICINA_API_SECRET"),
    ] = "",
    site_key: Annotated[
        str,
        typer.Option(help="the site's card-hash key (32+ characters)", envvar="OFFICINA_SITE_KEY"),
    ] = "",
    broker: BrokerUrlOption = DEFAULT_BROKER,
    broker_ca: BrokerCaOption = None,
    broker_cert: BrokerCertOption = None,
    broker_key: BrokerKeyOption = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65_535, help="port to listen on")] = 8000,
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    billing_config: Annotated[
        Path | None,
        typer.Option(help=help_text("TOML with the [billing] settings (workshop, currency)")),
    ] = None,
    cookie_secure: Annotated[
        bool,
        typer.Option(
            help="mark the pages' cookie Secure (sent over https only; off for plain-http tests)",
            envvar="OFFICINA_COOKIE_SECURE",
        ),
    ] = True,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            help="a proxy (address or network) whose X-Forwarded-For is believed; repeatable",
            envvar="OFFICINA_TRUSTED_PROXIES",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int, typer.Option(help="larger request bodies are refused (413) before they are read")
    ] = 1024 * 1024,
    demo: DemoOption = False,
    pseudonym_key: PseudonymKeyOption = None,
    pages_as_of: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="the day the pages open on instead of today, YYYY-MM-DD",
            envvar="OFFICINA_PAGES_AS_OF",
        ),
    ] = None,
    gateway_broker_url: Annotated[
        str | None,
        typer.Option(
            help="the broker URL written into gateways' gateway.toml (default: the api's broker)",
            envvar="OFFICINA_GATEWAY_BROKER_URL",
        ),
    ] = None,
    webhooks_allow_loopback: Annotated[
        bool,
        typer.Option(
            help="allow webhook targets on loopback addresses",
            envvar="OFFICINA_WEBHOOKS_ALLOW_LOOPBACK",
        ),
    ] = False,
    webhooks_allow_link_local: Annotated[
        bool,
        typer.Option(
            help="allow webhook targets on link-local addresses (169.254.0.0/16)",
            envvar="OFFICINA_WEBHOOKS_ALLOW_LINK_LOCAL",
        ),
    ] = False,
    influx_url: InfluxUrlOption = None,
    influx_db: InfluxDbOption = DEFAULT_INFLUX_DB,
    influx_token: InfluxTokenOption = None,
) -> None:
    """Serve the api and the web pages until Ctrl-C or SIGTERM."""
    options = broker_options(broker, broker_ca, broker_cert, broker_key)
    try:
        influx = (
            InfluxSettings(url=influx_url, database=influx_db, token=influx_token)
            if influx_url
            else None
        )
    except InfluxSettingsError as err:
        raise refused(str(err)) from err
    try:
        settings = ApiSettings(
            site=site,
            ledger_url=ledger,
            broker=options,
            secret=secret,
            site_key=site_key,
            demo=demo,
            timezone=timezone,
            billing=_billing(billing_config),
            cookie_secure=cookie_secure,
            trusted_proxies=tuple(trusted_proxy or ()),
            max_body_bytes=max_body_bytes,
            pseudonym_key=pseudonym_key,
            pages_as_of=pages_as_of.date() if pages_as_of else None,
            gateway_broker_url=gateway_broker_url,
            webhooks_allow_loopback=webhooks_allow_loopback,
            webhooks_allow_link_local=webhooks_allow_link_local,
            influx=influx,
        )
    except SettingsError as err:
        raise refused(str(err)) from err
    log.info(
        "api for site %s on http://%s:%d, broker %s, ledger %s",
        site,
        host,
        port,
        options.url,
        shown_url(ledger),
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        # uvicorn would believe X-Forwarded-For from loopback; the app reads it, from
        # --trusted-proxy only.
        proxy_headers=False,
        server_header=False,
    )


@app.command("add-user")
def add_login(
    username: Annotated[str, typer.Option(help="the login's user name")],
    role: Annotated[Role, typer.Option(help="admin, coordinator or member")],
    member: Annotated[str | None, typer.Option(help="for a member login: the member's id")] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="OFFICINA_NEW_PASSWORD",
            help="the password (prompted when not given)",
        ),
    ] = "",
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Create a login in the ledger: the first admin, or a login for someone without one."""
    if role is Role.GATEWAY:
        raise typer.BadParameter(
            "gateways get credentials from `officina api gateway-credentials`",
            param_hint="--role",
        )
    try:
        engine = open_ledger(ledger)
    except LedgerError as err:
        raise typer.BadParameter(str(err), param_hint="--ledger") from err
    try:
        with Session(engine) as db:
            if member is not None and db.get(MemberRow, member) is None:
                raise typer.BadParameter(
                    f"{member!r} is not a registered member", param_hint="--member"
                )
            add_user(
                db,
                passwords=Passwords(PasswordCost()),
                username=username,
                password=password,
                role=role,
                member=member,
                now=utc_now(),
            )
            db.commit()
    except AccountError as err:
        raise typer.BadParameter(str(err), param_hint=f"--{err.field}") from err
    finally:
        engine.dispose()
    typer.echo(f"login {username!r} ({role.value}) created")


@app.command("gateway-credentials")
def gateway_credentials(
    site: SiteOption,
    gateway: Annotated[str, typer.Option(help="the gateway's id, as in its gateway.toml")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
) -> None:
    """Issue (or re-issue) a gateway's broker and api login, and print it once."""
    if not is_id(site):
        raise typer.BadParameter(f"must match {ID_PATTERN}", param_hint="--site")
    if not is_id(gateway):
        raise typer.BadParameter(f"must match {ID_PATTERN}", param_hint="--gateway")
    try:
        engine = open_ledger(ledger)
    except LedgerError as err:
        raise typer.BadParameter(str(err), param_hint="--ledger") from err
    try:
        with Session(engine) as db:
            issued = issue_credentials(
                db, passwords=Passwords(PasswordCost()), site=site, gateway=gateway, now=utc_now()
            )
            db.commit()
    finally:
        engine.dispose()
    # Only a hash is kept: this is the one time the password is shown.
    typer.echo(f"username = {issued.username!r}")
    typer.echo(f"password = {issued.password!r}")
    typer.echo("Any earlier password of this gateway no longer works.", err=True)
    typer.echo("Run `officina broker-acl` so the broker knows the new login.", err=True)
