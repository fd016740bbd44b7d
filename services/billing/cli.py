"""`officina statements …` and `officina billing …`: monthly statements and what they are made of.

`statements_app` runs, issues, shows, exports, credits, sends and schedules statements, and
imports the bank's statements to see them paid (`statements payments …`);
`billing_app` enters tariffs, plans, weights and the month's cost pools (by hand or from CSV).
`app` holds both, for running this module on its own.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from contract.terminal import help_text, labelled, plain, print_error
from services.billing import formats
from services.billing import register as fiscal_register
from services.billing.allocation import KEY_RULES, CostPool
from services.billing.consumables_cli import consumables_app
from services.billing.credit_cli import credit_app
from services.billing.errors import BillingError, BillingInputError, SettingsError
from services.billing.exports import lines_csv, register_csv, statement_json
from services.billing.fiscal_profile import fiscal_readiness
from services.billing.mailer import Mailer
from services.billing.money import parse_cents, parse_micros, parse_milli, parse_vat_bp
from services.billing.months import Month
from services.billing.payments import (
    MAX_BANK_FILE_BYTES,
    import_bank_file,
    send_reminders,
)
from services.billing.pool_import import (
    billed_in_base_units,
    import_pools,
    parse_key,
    parse_machines,
)
from services.billing.projection import DEFAULT_EVERY_S, PoolProjector, Projection, project_month
from services.billing.records import StatementStatus
from services.billing.scheduler import StatementScheduler
from services.billing.service import Billing
from services.billing.settings import load_settings
from services.billing.store import BillingLedger
from services.billing.tariffs import METER_UNITS, Allowance, Meter, Plan, Tariff
from services.cli_options import (
    DEFAULT_INFLUX_DB,
    DEFAULT_LEDGER_URL,
    InfluxDbOption,
    InfluxTokenOption,
    InfluxUrlOption,
    LedgerOption,
    PseudonymKeyOption,
    refused,
)
from services.fiscal import Locale
from services.influx import InfluxClient, InfluxSettings, InfluxSettingsError
from services.ledger import LedgerError, member_pseudonym
from services.ledger.db import shown_url
from services.ledger.pseudonyms import pseudonym_key_problems

log = logging.getLogger(__name__)

statements_app = typer.Typer(
    help="Monthly statements: run, issue, export, credit, send.", no_args_is_help=True
)
billing_app = typer.Typer(
    help="Tariffs, plans, weights and the month's shared costs.", no_args_is_help=True
)
pool_app = typer.Typer(help="A month's shared bills (cost pools).", no_args_is_help=True)
tariff_app = typer.Typer(help="Machine tariffs with the day they start.", no_args_is_help=True)
plan_app = typer.Typer(help="Membership plans, their fees and included time.", no_args_is_help=True)
payments_app = typer.Typer(
    help="Payments received: bank statements matched to issued statements.", no_args_is_help=True
)
statements_app.add_typer(payments_app, name="payments")
billing_app.add_typer(pool_app, name="pool")
billing_app.add_typer(tariff_app, name="tariff")
billing_app.add_typer(plan_app, name="plan")
billing_app.add_typer(credit_app, name="credit")
billing_app.add_typer(consumables_app, name="consumables")
app = typer.Typer(help="officina billing.", no_args_is_help=True)
app.add_typer(statements_app, name="statements")
app.add_typer(billing_app, name="billing")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="billing settings (TOML)", envvar="OFFICINA_BILLING_CONFIG"),
]
MonthOption = Annotated[str, typer.Option("--month", help="the month, YYYY-MM")]
ProjectEveryOption = Annotated[
    float,
    typer.Option("--project-every", min=60, help="seconds between projections of pool shares"),
]


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except BillingInputError as err:
        raise typer.BadParameter(err.reason, param_hint="--month") from err


def _day(text: str, hint: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise typer.BadParameter(f"{text!r} is not YYYY-MM-DD", param_hint=hint) from err


@contextmanager
def _billing(ledger_url: str, config: Path | None, *, existing: bool = False) -> Iterator[Billing]:
    """Settings and ledger opened, errors turned into a clear message and exit status 1.

    `existing`: the command only works on what the ledger holds, so it refuses to make one.
    """
    console = Console(stderr=True)
    try:
        settings = load_settings(config)
        ledger = BillingLedger.open(ledger_url, existing=existing)
    except SettingsError as err:
        for problem in err.problems:
            print_error("settings", problem, console=console)
        raise typer.Exit(2) from err
    except (BillingError, LedgerError) as err:
        print_error("ledger", err, console=console)
        raise typer.Exit(1) from err
    try:
        yield Billing(ledger, settings)
    except BillingInputError as err:
        console.print(labelled(f"{err.field}:", err.reason))
        raise typer.Exit(2) from err
    except BillingError as err:
        print_error("error", err, console=console)
        raise typer.Exit(1) from err
    finally:
        ledger.close()


def _money(cents: int, billing: Billing) -> str:
    return formats.money(cents, billing.settings.currency, billing.settings.locale)


# --- statements -------------------------------------------------------------------------------


@statements_app.command("run")
def run_statements(
    month: MonthOption,
    issue: Annotated[bool, typer.Option("--issue", help="issue the drafts right away")] = False,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Make (or make again) one draft per member for a month; `--issue` issues them."""
    which = _month(month)
    console = Console()
    with _billing(ledger, config) as billing:
        result = billing.make_drafts(which)
        console.print(
            f"{which}: {result.made} drafts made ({result.replaced} replaced),"
            f" {result.already_issued} already issued"
        )
        if result.differ_from_issued:
            console.print(
                "[yellow]issued statements that differ from the ledger now:[/yellow] "
                + ", ".join(result.differ_from_issued)
            )
        if issue:
            numbers = billing.issue(which)
            if numbers:
                console.print(f"issued {len(numbers)}: {numbers[0]} to {numbers[-1]}")
        _print_month(console, billing, which)


def _print_month(console: Console, billing: Billing, month: Month) -> None:
    table = Table(title=f"statements {month}")
    for column in ("number", "member", "name", "party", "net", "VAT", "total", "status"):
        table.add_column(column, justify="right" if column in ("net", "VAT", "total") else "left")
    total = 0
    for statement in billing.ledger.statements(month, with_lines=False):
        total += statement.total_cents
        table.add_row(
            statement.number or "-",
            statement.member,
            plain(statement.member_name),
            plain(statement.party_label or "-"),
            _money(statement.net_cents, billing),
            _money(statement.vat_cents, billing),
            _money(statement.total_cents, billing),
            statement.status.value + (" (credit note)" if statement.credits_number else ""),
        )
    table.add_section()
    table.add_row("", "", "", "", "", "", _money(total, billing), "")
    console.print(table)


@statements_app.command("issue")
def issue_statements(
    month: MonthOption, ledger: LedgerOption = DEFAULT_LEDGER_URL, config: ConfigOption = None
) -> None:
    """Issue a month's drafts: numbered YYYY/NNNN, never changed afterwards."""
    which = _month(month)
    with _billing(ledger, config, existing=True) as billing:
        numbers = billing.issue(which)
        Console().print(
            f"issued {len(numbers)}: {numbers[0]} to {numbers[-1]}" if numbers else "no drafts"
        )


@statements_app.command("list")
def list_statements(
    month: MonthOption, ledger: LedgerOption = DEFAULT_LEDGER_URL, config: ConfigOption = None
) -> None:
    """A month's statements and credit notes with their totals."""
    which = _month(month)
    with _billing(ledger, config, existing=True) as billing:
        _print_month(Console(), billing, which)


@statements_app.command("show")
def show_statement(
    number: Annotated[str, typer.Argument(help="YYYY/NNNN")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """An issued statement or credit note as JSON."""
    with _billing(ledger, config, existing=True) as billing:
        Console().print_json(statement_json(billing.ledger.statement(number)))


@statements_app.command("export")
def export_statements(
    month: MonthOption,
    to: Annotated[Path, typer.Option("--to", help="directory to write into")],
    pdf: Annotated[bool, typer.Option(help="one PDF per statement")] = True,
    json: Annotated[bool, typer.Option(help="one JSON per statement")] = True,
    csv: Annotated[bool, typer.Option(help="register.csv and lines.csv")] = True,
    drafts: Annotated[bool, typer.Option(help="drafts too, not only issued")] = False,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Write a month's statements as PDF, JSON and CSV files."""
    which = _month(month)
    with _billing(ledger, config, existing=True) as billing:
        status = None if drafts else StatementStatus.ISSUED
        statements = billing.ledger.statements(which, status=status)
        to.mkdir(parents=True, exist_ok=True)
        for statement in statements:
            # A member's drafts differ by party: each keeps its own file.
            draft = f"draft-{statement.member}" + (
                f"-{statement.party_id}" if statement.party_id is not None else ""
            )
            stem = (statement.number or draft).replace("/", "-")
            if pdf:
                (to / f"{stem}.pdf").write_bytes(billing.pdf(statement))
            if json:
                (to / f"{stem}.json").write_text(statement_json(statement), encoding="utf-8")
        if csv:
            (to / f"register-{which}.csv").write_text(
                register_csv(statements, billing.tz, billing.settings.locale), encoding="utf-8"
            )
            (to / f"lines-{which}.csv").write_text(
                lines_csv(statements, billing.tz, billing.settings.locale), encoding="utf-8"
            )
        Console().print(f"{len(statements)} statements of {which} written to {to}")


def _month_argument(text: str) -> Month:
    try:
        return Month.parse(text)
    except BillingInputError as err:
        raise typer.BadParameter(err.reason, param_hint="MONTH") from err


class RegisterFormat(StrEnum):
    """How the accountant's register is written."""

    CSV = "csv"
    JSON = "json"


MonthArgument = Annotated[str, typer.Argument(help="the month the documents were issued, YYYY-MM")]


@statements_app.command("fiscal-bundle")
def fiscal_bundle(
    month: MonthArgument,
    out: Annotated[Path, typer.Option("--out", help="the zip file to write")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Write the FatturaPA files issued in a month, as stored, as one zip for the SdI."""
    which = _month_argument(month)
    with _billing(ledger, config, existing=True) as billing:
        bundle = billing.fiscal_bundle(which)
        files = len(billing.ledger.month_fiscal_documents(which, billing.tz))
    out.write_bytes(bundle)
    Console().print(f"{files} FatturaPA files issued in {which} written to {out}", markup=False)


@statements_app.command("register")
def register(
    month: MonthArgument,
    form: Annotated[RegisterFormat, typer.Option("--format", help="csv or json")] = (
        RegisterFormat.CSV
    ),
    lang: Annotated[
        Locale | None, typer.Option("--lang", help="the CSV's language (default: settings)")
    ] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Print the accountant's register of the documents issued in a month."""
    which = _month_argument(month)
    with _billing(ledger, config, existing=True) as billing:
        rows = billing.register(which)
        locale = lang or Locale(billing.settings.locale)
    if form is RegisterFormat.JSON:
        typer.echo(fiscal_register.register_json(rows))
    else:
        typer.echo(fiscal_register.register_csv(rows, locale), nl=False)


@statements_app.command("credit")
def credit_statement(
    number: Annotated[str, typer.Argument(help="the issued statement, YYYY/NNNN")],
    reason: Annotated[str, typer.Option("--reason", help="why, printed on the credit note")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="net amount to credit (default: all of it)")
    ] = None,
    vat: Annotated[str | None, typer.Option("--vat", help="VAT rate in percent")] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Correct an issued statement with a credit note that references it."""
    with _billing(ledger, config, existing=True) as billing:
        note = billing.credit(
            number,
            reason=reason,
            net_cents=parse_cents(amount, "amount") if amount is not None else None,
            vat_bp=parse_vat_bp(vat, "vat") if vat is not None else None,
        )
        Console().print(
            f"credit note {note.number} for {number}: {_money(note.total_cents, billing)}"
        )


@statements_app.command("send")
def send_statements(
    month: Annotated[str | None, typer.Option("--month", help="only this month")] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """E-mail every issued statement not yet sent, with its PDF."""
    which = _month(month) if month else None
    with _billing(ledger, config, existing=True) as billing:
        if billing.settings.smtp is None:
            raise typer.BadParameter("no [smtp] in the settings", param_hint="--config")
        result = billing.send(which, Mailer(billing.settings.smtp, billing.settings.workshop))
        Console().print(f"sent {len(result.sent)}, failed {len(result.failed)}")
        for number, why in result.failed:
            print_error(number, why)
        if result.failed:
            raise typer.Exit(1)


@contextmanager
def _influx(url: str | None, database: str, token: str | None) -> Iterator[InfluxClient | None]:
    """A client for the projection's InfluxDB, or None when no URL is given."""
    if not url:
        yield None
        return
    try:
        settings = InfluxSettings(url=url, database=database, token=token)
    except InfluxSettingsError as err:
        raise refused(str(err)) from err
    with InfluxClient(settings) as client:
        yield client


def _pseudonym_key(key: str | None) -> str:
    if key is None:
        raise typer.BadParameter(
            "needed to write pool shares to InfluxDB (the dashboards show pseudonyms)",
            param_hint="--pseudonym-key",
        )
    problems = pseudonym_key_problems(key, demo=False)
    if problems:
        raise refused("; ".join(problems))
    return key


@statements_app.command("schedule")
def schedule_statements(
    once: Annotated[bool, typer.Option("--once", help="one tick, then exit (for cron)")] = False,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
    influx_url: InfluxUrlOption = None,
    influx_db: InfluxDbOption = DEFAULT_INFLUX_DB,
    influx_token: InfluxTokenOption = None,
    pseudonym_key: PseudonymKeyOption = None,
    project_every: ProjectEveryOption = DEFAULT_EVERY_S,
    heartbeat: Annotated[
        Path | None,
        typer.Option(help="a file touched after every tick, for a healthcheck to look at"),
    ] = None,
) -> None:
    """Make drafts after each month's end, issue after review, e-mail; catches up on start.

    With --influx-url and --pseudonym-key it also writes this month's projected pool shares to
    InfluxDB, at start and every --project-every seconds.
    """
    if influx_url and pseudonym_key is None:
        log.warning("no --pseudonym-key: pool shares are not projected to InfluxDB")
        influx_url = None
    key = _pseudonym_key(pseudonym_key) if influx_url else ""
    with (
        _billing(ledger, config) as billing,
        _influx(influx_url, influx_db, influx_token) as influx,
    ):
        smtp = billing.settings.smtp
        mailer = Mailer(smtp, billing.settings.workshop) if smtp is not None else None
        projector = None
        if influx is not None:
            projector = PoolProjector(billing, influx, pseudonym_key=key, every_s=project_every)
        scheduler = StatementScheduler(billing, mailer=mailer, projector=projector)
        if once:
            report = scheduler.tick()
            Console().print(
                f"drafted {[str(m) for m in report.drafted]}, issued"
                f" {[str(m) for m in report.issued]}, e-mailed {report.sent}"
            )
            projected = scheduler.project()
            if projected is not None:
                Console().print(
                    f"projected {projected.projection.month}: {projected.points} pool shares"
                )
            if report.failures or (projector is not None and projected is None):
                raise typer.Exit(1)
            return
        stop = threading.Event()

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: stopping the scheduler", signum)
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        log.info("statement scheduler on ledger %s", shown_url(ledger))
        scheduler.run(stop, heartbeat=heartbeat)


@statements_app.command("runs")
def show_runs(
    month: Annotated[str | None, typer.Option("--month", help="only this month")] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """The run log: every draft, issue, mail and credit step, how it ended and who asked."""
    which = _month(month) if month else None
    with _billing(ledger, config, existing=True) as billing:
        table = Table(title="billing runs")
        for column in ("month", "step", "outcome", "started", "statements", "detail", "by"):
            table.add_column(column)
        for run in billing.ledger.runs(which):
            table.add_row(
                run.month,
                run.step,
                run.outcome,
                run.started_at.astimezone(billing.tz).strftime("%Y-%m-%d %H:%M"),
                str(run.statements),
                plain(run.detail or ""),
                plain(run.by or ""),
            )
        Console().print(table)


# --- cost pools -------------------------------------------------------------------------------


@pool_app.command("add")
def add_pool(
    month: MonthOption,
    name: Annotated[str, typer.Option("--name", help="what the bill is: electricity, rent…")],
    total: Annotated[str, typer.Option("--total", help="the bill's net amount, e.g. 1234.50")],
    key: Annotated[
        str, typer.Option("--key", help="kwh, running_hours, equal, member_days, weights")
    ],
    machine: Annotated[
        list[str] | None, typer.Option("--machine", help="site/machine (repeat); none: all")
    ] = None,
    weights: Annotated[
        str | None, typer.Option("--weights", help="weight set for `weights`")
    ] = None,
    billed: Annotated[
        str | None,
        typer.Option("--billed", help="the bill's own kWh or hours (rest: --remainder-key)"),
    ] = None,
    remainder_key: Annotated[str | None, typer.Option("--remainder-key")] = None,
    remainder_weights: Annotated[str | None, typer.Option("--remainder-weights")] = None,
    vat: Annotated[str, typer.Option("--vat", help="VAT rate in percent")] = "0",
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Enter a month's shared bill and how to split it."""
    which = _month(month)
    with _billing(ledger, config) as billing:
        allocation = parse_key(key, "key")
        pool = CostPool(
            name=name.strip(),
            total_cents=parse_cents(total, "total"),
            key=allocation,
            machines=parse_machines(" ".join(machine or ())),
            weight_set=weights,
            billed_quantity=billed_in_base_units(billed, allocation) if billed else None,
            remainder_key=parse_key(remainder_key, "remainder_key") if remainder_key else None,
            remainder_weight_set=remainder_weights,
            vat_bp=parse_vat_bp(vat, "vat"),
        )
        billing.ledger.add_pool(which, pool)
        Console().print(
            plain(f"{which}: {pool.name} {_money(pool.total_cents, billing)} by {allocation}")
        )


@pool_app.command("import")
def import_pool_csv(
    path: Annotated[Path, typer.Argument(help="CSV with month,name,total,key,…")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Enter cost pools from a CSV file; bad rows are listed, good ones entered."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise typer.BadParameter(str(err), param_hint="PATH") from err
    with _billing(ledger, config) as billing:
        report = import_pools(billing.ledger, text)
        Console().print(f"{len(report.added)} pools entered, {len(report.rejected)} rows refused")
        for row in report.rejected:
            Console(stderr=True).print(
                plain(f"line {row.line}: ").append(labelled(f"{row.field}:", row.reason))
            )
        if report.rejected:
            raise typer.Exit(1)


@pool_app.command("list")
def list_pools(
    month: MonthOption, ledger: LedgerOption = DEFAULT_LEDGER_URL, config: ConfigOption = None
) -> None:
    """A month's cost pools."""
    which = _month(month)
    with _billing(ledger, config, existing=True) as billing:
        table = Table(title=f"cost pools {which}")
        for column in ("name", "total", "key", "machines", "remainder"):
            table.add_column(column)
        for pool in billing.ledger.pools(which):
            table.add_row(
                plain(pool.name),
                _money(pool.total_cents, billing),
                pool.key.value + (f" ({pool.weight_set})" if pool.weight_set else ""),
                " ".join(f"{s}/{m}" for s, m in pool.machines) or "all",
                pool.remainder_key.value if pool.remainder_key else "",
            )
        Console().print(table)


@pool_app.command("remove")
def remove_pool(
    month: MonthOption,
    name: Annotated[str, typer.Option("--name")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Take back a pool entered by mistake (before the month is issued)."""
    which = _month(month)
    with _billing(ledger, config) as billing:
        billing.ledger.remove_pool(which, name)


# --- tariffs, plans, weights ----------------------------------------------------------------


@tariff_app.command("add")
def add_tariff(
    valid_from: Annotated[str, typer.Option("--from", help="first local day, YYYY-MM-DD")],
    site: Annotated[str | None, typer.Option("--site", help="the machine's site")] = None,
    machine: Annotated[str | None, typer.Option("--machine", help="none: every machine")] = None,
    plan: Annotated[str | None, typer.Option("--plan", help="none: every plan")] = None,
    per_running_minute: Annotated[str, typer.Option("--per-running-minute")] = "0",
    per_unlocked_minute: Annotated[str, typer.Option("--per-unlocked-minute")] = "0",
    per_kwh: Annotated[str, typer.Option("--per-kwh")] = "0",
    minimum: Annotated[str, typer.Option("--minimum", help="minimum per session")] = "0",
    vat: Annotated[str, typer.Option("--vat", help="VAT rate in percent")] = "0",
    booking_fee: Annotated[
        str, typer.Option("--booking-fee", help="per booking of the machine used")
    ] = "0",
    no_show: Annotated[str, typer.Option("--no-show", help="per booking nobody came for")] = "0",
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Add a tariff from a day on; sessions of earlier days keep their price."""
    day = _day(valid_from, "--from")
    with _billing(ledger, config) as billing:
        billing.ledger.add_tariff(
            Tariff(
                valid_from=day,
                site=site,
                machine=machine,
                plan=plan,
                per_running_minute=parse_micros(per_running_minute, "per_running_minute"),
                per_unlocked_minute=parse_micros(per_unlocked_minute, "per_unlocked_minute"),
                per_kwh=parse_micros(per_kwh, "per_kwh"),
                minimum_cents=parse_cents(minimum, "minimum"),
                vat_bp=parse_vat_bp(vat, "vat"),
                booking_fee_cents=parse_cents(booking_fee, "booking_fee"),
                no_show_cents=parse_cents(no_show, "no_show"),
            )
        )


@tariff_app.command("list")
def list_tariffs(ledger: LedgerOption = DEFAULT_LEDGER_URL, config: ConfigOption = None) -> None:
    """Every tariff, by scope and day."""
    with _billing(ledger, config, existing=True) as billing:
        table = Table(title="tariffs")
        for column in (
            "from",
            "site",
            "machine",
            "plan",
            "€/run min",
            "€/min",
            "€/kWh",
            "min",
            "booking",
            "no-show",
            "VAT",
        ):
            table.add_column(column)
        for tariff in billing.ledger.tariffs():
            table.add_row(
                tariff.valid_from.isoformat(),
                tariff.site or "*",
                tariff.machine or "*",
                tariff.plan or "*",
                f"{tariff.per_running_minute / 1e6:g}",
                f"{tariff.per_unlocked_minute / 1e6:g}",
                f"{tariff.per_kwh / 1e6:g}",
                _money(tariff.minimum_cents, billing),
                _money(tariff.booking_fee_cents, billing),
                _money(tariff.no_show_cents, billing),
                f"{tariff.vat_bp / 100:g}%",
            )
        Console().print(table)


def _allowance(text: str) -> Allowance:
    """`running_minutes:600` or `kwh:50@site/machine`."""
    spec, _, where = text.partition("@")
    meter_text, colon, amount = spec.partition(":")
    if not colon:
        raise BillingInputError("allowance", f"{text!r} is not meter:quantity[@site/machine]")
    try:
        meter = Meter(meter_text.strip())
    except ValueError as err:
        known = ", ".join(m.value for m in Meter)
        raise BillingInputError("allowance", f"{meter_text!r} is not one of {known}") from err
    quantity = parse_milli(amount, "allowance") * METER_UNITS[meter].base_per_unit // 1000
    site = machine = None
    if where:
        ((site, machine),) = parse_machines(where, "allowance")
    return Allowance(meter=meter, quantity=quantity, site=site, machine=machine)


@plan_app.command("set")
def set_plan(
    name: Annotated[str, typer.Argument()],
    fee: Annotated[str, typer.Option("--fee", help="monthly fee, e.g. 30")] = "0",
    vat: Annotated[str, typer.Option("--vat", help="VAT rate in percent")] = "0",
    allowance: Annotated[
        list[str] | None,
        typer.Option(
            "--allowance",
            help=help_text("meter:quantity[@site/machine], e.g. running_minutes:600@nord/laser-1"),
        ),
    ] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Create or change a plan: its monthly fee and included machine time."""
    with _billing(ledger, config) as billing:
        billing.ledger.save_plan(
            Plan(
                name=name,
                monthly_fee_cents=parse_cents(fee, "fee"),
                vat_bp=parse_vat_bp(vat, "vat"),
                allowances=tuple(_allowance(text) for text in allowance or ()),
            )
        )


@plan_app.command("assign")
def assign_plan(
    member: Annotated[str, typer.Argument()],
    plan: Annotated[str, typer.Argument(help="plan name, or `none`")],
    valid_from: Annotated[str, typer.Option("--from", help="first local day, YYYY-MM-DD")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Put a member on a plan from a day on."""
    day = _day(valid_from, "--from")
    with _billing(ledger, config) as billing:
        billing.ledger.assign_plan(member, None if plan == "none" else plan, valid_from=day)


@billing_app.command("weight")
def set_weight(
    weight_set: Annotated[str, typer.Argument(help="e.g. desks, square-metres")],
    member: Annotated[str, typer.Argument()],
    value: Annotated[str, typer.Argument(help="e.g. 12.5")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """A member's weight in a named set, for pools split by fixed weights."""
    with _billing(ledger, config) as billing:
        billing.ledger.set_weight(weight_set, member, parse_milli(value, "weight"))


@billing_app.command("language")
def set_language(
    member: Annotated[str, typer.Argument()],
    language: Annotated[str, typer.Argument(help="it or en")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """The language of a member's statements."""
    if language not in ("it", "en"):
        raise typer.BadParameter("it or en", param_hint="LANGUAGE")
    with _billing(ledger, config) as billing:
        billing.ledger.set_locale(member, language)


@billing_app.command("project")
def project_pools(
    month: Annotated[
        str | None, typer.Option("--month", help="the month, YYYY-MM (default: this one)")
    ] = None,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
    influx_url: InfluxUrlOption = None,
    influx_db: InfluxDbOption = DEFAULT_INFLUX_DB,
    influx_token: InfluxTokenOption = None,
    pseudonym_key: PseudonymKeyOption = None,
) -> None:
    """Split the month's pools (or last month's) over the usage so far; write it to InfluxDB."""
    key = _pseudonym_key(pseudonym_key) if influx_url else pseudonym_key
    with (
        _billing(ledger, config, existing=True) as billing,
        _influx(influx_url, influx_db, influx_token) as influx,
    ):
        which = _month(month) if month else None
        if influx is None:
            now = datetime.now(UTC)
            projection = project_month(
                billing, which or Month.of(now.astimezone(billing.tz).date()), now=now
            )
            _print_projection(billing, projection, key)
            Console().print("not written anywhere: give --influx-url to write it")
            return
        report = PoolProjector(billing, influx, pseudonym_key=key or "").project(which)
        _print_projection(billing, report.projection, key)
        Console().print(f"{report.points} pool shares written to InfluxDB")
        if report.refused_pools:
            raise typer.Exit(1)


def _print_projection(billing: Billing, projection: Projection, key: str | None) -> None:
    console = Console()
    if projection.basis is None:
        console.print(f"{projection.month}: no cost pools this month or last")
        return
    table = Table(title=f"{projection.month} projected ({projection.basis} pools)")
    for column in ("pool", "member", "pseudonym", "quantity", "share"):
        table.add_column(column, justify="right" if column in ("quantity", "share") else "left")
    for share in projection.shares:
        rule = KEY_RULES[share.pool.key]
        table.add_row(
            plain(share.pool.name),
            share.member,
            member_pseudonym(share.member, key) if key else "",
            f"{formats.quantity(share.quantity, rule.base_per_unit, billing.settings.locale)}"
            f" {rule.unit}".rstrip(),
            _money(share.cents, billing),
        )
    console.print(table)
    for name in projection.stuck:
        console.print(labelled(f"{name}:", "nothing to split it by yet", style="yellow"))


@statements_app.command("fiscal")
def check_fiscal(config: ConfigOption = None) -> None:
    """Whether the workshop's fiscal profile is complete for fattura mode (exit 1 if not)."""
    console = Console()
    try:
        settings = load_settings(config)
    except SettingsError as err:
        for problem in err.problems:
            Console(stderr=True).print(labelled("settings", problem))
        raise typer.Exit(2) from err
    readiness = fiscal_readiness(settings.workshop)
    profile = settings.workshop.fiscal
    if profile is not None:
        console.print(
            f"{profile.legal_name}: {profile.billing_mode.value}, regime {profile.regime.value}, "
            f"P.IVA {profile.vat_number or '-'}, codice fiscale {profile.fiscal_code or '-'}",
            markup=False,
        )
    if readiness.complete_for_fattura:
        console.print("the fiscal profile is complete for fattura mode")
        return
    console.print("the fiscal profile is not complete for fattura mode:")
    for problem in readiness.missing:
        console.print(f"  {problem}", markup=False)
    raise typer.Exit(1)


# --- payments received ------------------------------------------------------------------------


@payments_app.command("import")
def import_payments(
    path: Annotated[Path, typer.Argument(help="a CAMT.053 XML or the bank's CSV")],
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Book a bank file's credits, matched to issued statements; a wrong file is refused whole."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BANK_FILE_BYTES + 1)
    except OSError as err:
        raise typer.BadParameter(str(err), param_hint="PATH") from err
    if len(data) > MAX_BANK_FILE_BYTES:
        raise typer.BadParameter(f"larger than {MAX_BANK_FILE_BYTES} bytes", param_hint="PATH")
    with _billing(ledger, config, existing=True) as billing:
        done = import_bank_file(billing, data)
        result = done.result
        Console().print(
            f"{done.kind}: {done.credits} credits ({_money(done.credited_cents, billing)}),"
            f" {result.added} booked, {result.matched} matched,"
            f" {result.already} booked before"
        )


@payments_app.command("list")
def list_payments(
    unmatched: Annotated[
        bool, typer.Option("--unmatched", help="only those waiting for a coordinator")
    ] = False,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Booked payments, newest first, with the statement each paid."""
    with _billing(ledger, config, existing=True) as billing:
        table = Table(title="payments")
        for column in ("id", "booked", "amount", "payer", "remittance", "statement", "how"):
            table.add_column(column)
        for payment in billing.ledger.payments(unmatched=True if unmatched else None):
            how = "not ours" if payment.not_ours else (payment.matched_by or "")
            table.add_row(
                str(payment.id),
                payment.booked.isoformat(),
                _money(payment.amount_cents, billing),
                plain(payment.payer),
                plain(payment.remittance[:40]),
                payment.statement_number or "",
                str(how),
            )
        Console().print(table)


@payments_app.command("assign")
def assign_payment(
    payment: Annotated[int, typer.Argument(help="the payment's id")],
    number: Annotated[
        str | None, typer.Argument(help="the statement it pays, e.g. 2026/0007")
    ] = None,
    not_ours: Annotated[
        bool, typer.Option("--not-ours", help="the credit is not a member's payment")
    ] = False,
    ledger: LedgerOption = DEFAULT_LEDGER_URL,
    config: ConfigOption = None,
) -> None:
    """Give a waiting payment to an issued statement, or mark it as not the workshop's."""
    if (number is None) == (not not_ours):
        raise typer.BadParameter("give a statement number or --not-ours", param_hint="NUMBER")
    with _billing(ledger, config, existing=True) as billing:
        statement = billing.ledger.statement(number).id if number is not None else None
        billing.ledger.assign_payment(payment, statement, by="cli")


@payments_app.command("remind")
def remind_overdue(ledger: LedgerOption = DEFAULT_LEDGER_URL, config: ConfigOption = None) -> None:
    """E-mail a reminder for every issued statement past its due day and not paid in full."""
    with _billing(ledger, config, existing=True) as billing:
        if billing.settings.smtp is None:
            raise typer.BadParameter("no [smtp] in the settings", param_hint="--config")
        today = datetime.now(UTC).astimezone(billing.tz).date()
        mailer = Mailer(billing.settings.smtp, billing.settings.workshop)
        sent, failed = send_reminders(billing, mailer, today)
        Console().print(f"reminded {len(sent)}, failed {len(failed)}")
        if failed:
            raise typer.Exit(1)
