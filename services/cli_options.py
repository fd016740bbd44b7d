"""The command-line options every server command shares: one name, one variable, one help each.

`officina ingest`, `statements`/`billing`, `api`, `backup`/`restore` and the demo take the same
ledger, InfluxDB, pseudonym key, site, time zone and demo options; typing them once here keeps
`--ledger` reading `OFFICINA_LEDGER` everywhere. The broker's options live with the MQTT layer.
"""

from __future__ import annotations

from typing import Annotated

import typer

from services.billing.months import DEFAULT_TIMEZONE
from services.ledger.db import DEFAULT_LEDGER_URL

__all__ = [
    "DEFAULT_INFLUX_DB",
    "DEFAULT_LEDGER_URL",
    "DEFAULT_TIMEZONE",
    "DemoOption",
    "InfluxDbOption",
    "InfluxTokenOption",
    "InfluxUrlOption",
    "LedgerOption",
    "PseudonymKeyOption",
    "SiteOption",
    "TimezoneOption",
    "refused",
]

DEFAULT_INFLUX_DB = "officina"

LedgerOption = Annotated[
    str,
    typer.Option("--ledger", help="SQLAlchemy URL of the ledger", envvar="OFFICINA_LEDGER"),
]
InfluxUrlOption = Annotated[
    str | None,
    typer.Option(
        "--influx-url",
        help="InfluxDB base URL (none: nothing is written to InfluxDB)",
        envvar="OFFICINA_INFLUX_URL",
    ),
]
InfluxDbOption = Annotated[
    str,
    typer.Option("--influx-db", help="InfluxDB v1 database (or DBRP)"),
]
InfluxTokenOption = Annotated[
    str | None,
    typer.Option(
        "--influx-token",
        help="InfluxDB 2.x/3.x token (32+ characters)",
        envvar="OFFICINA_INFLUX_TOKEN",
    ),
]
PseudonymKeyOption = Annotated[
    str | None,
    typer.Option(
        "--pseudonym-key",
        help="keys the members' pseudonyms on the dashboards (32+ characters, the same for "
        "ingest, billing and the api)",
        envvar="OFFICINA_PSEUDONYM_KEY",
    ),
]
SiteOption = Annotated[
    str, typer.Option("--site", help="the workshop's site id", envvar="OFFICINA_SITE")
]
TimezoneOption = Annotated[
    str,
    typer.Option("--timezone", help="the workshop's time zone"),
]
DemoOption = Annotated[
    bool,
    typer.Option("--demo", help="allow the demo's well-known secrets (never in production)"),
]


def refused(problem: str) -> typer.Exit:
    """Print a refused setting as one plain line on stderr; the caller raises the exit (2)."""
    # Plain, not typer's boxed error: a box wraps the line and cuts the field's name from it.
    typer.echo(f"error: {problem}", err=True)
    return typer.Exit(2)
