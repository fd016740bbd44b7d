"""`officina dashboards …`: build, check and push the Grafana dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dashboards import files
from dashboards.errors import DashboardError, TemplateError
from dashboards.push import InfluxSource, PushOptions, push

app = typer.Typer(help="Grafana dashboards: build, check, push.", no_args_is_help=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="a dashboard setting, NAME=VALUE (repeat), e.g. officina_url=https://officina.lan",
    ),
]


def _constants(settings: list[str] | None) -> dict[str, str]:
    constants = {}
    for setting in settings or ():
        name, sep, value = setting.partition("=")
        if not sep:
            raise typer.BadParameter(f"{setting!r}: expected NAME=VALUE", param_hint="--set")
        constants[name.strip()] = value.strip()
    return constants


@app.command()
def build(
    out: Annotated[Path, typer.Option(help="Where to write the JSON.")] = files.JSON_DIR,
    settings: SetOption = None,
) -> None:
    """Write every dashboard's JSON from the code."""
    try:
        written = files.write_all(out, constants=_constants(settings))
    except TemplateError as err:
        raise typer.BadParameter(str(err), param_hint="--set") from err
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def check(
    directory: Annotated[Path, typer.Option(help="The JSON to check.")] = files.JSON_DIR,
) -> None:
    """Fail if the JSON on disk is not what the code builds."""
    problems = files.stale(directory)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("dashboards are up to date")


@app.command("push")
def push_command(
    grafana_url: Annotated[str, typer.Option(help="Grafana's base URL.")],
    token: Annotated[str, typer.Option(help="A service-account token.", envvar="GRAFANA_TOKEN")],
    influx_url: Annotated[
        str | None, typer.Option(help="Also create the InfluxDB data source at this URL.")
    ] = None,
    influx_db: Annotated[str, typer.Option(help="The v1 database (DBRP) name.")] = "officina",
    influx_token: Annotated[
        str | None, typer.Option(help="InfluxDB token (2.x/3.x).", envvar="INFLUX_TOKEN")
    ] = None,
    settings: SetOption = None,
) -> None:
    """Create or overwrite the dashboards in a Grafana that is not provisioned from files."""
    source = None
    if influx_url is not None:
        source = InfluxSource(url=influx_url, database=influx_db, token=influx_token)
    try:
        options = PushOptions(
            grafana_url=grafana_url,
            token=token,
            influx=source,
            constants=_constants(settings),
        )
        pushed = push(options)
    except DashboardError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(f"pushed {len(pushed)} dashboards: {', '.join(pushed)}")
