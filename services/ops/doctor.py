"""`officina doctor`: the site checked end to end, each check ok or what to fix.

Reads what the servers read (the broker URL, the ledger URL, InfluxDB's, the secrets in the
environment or a `.env`), so a problem it names is one a server would meet.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from contract.mqtt import BrokerOptions, MqttConnectError, MqttError, connack_words, make_client
from contract.secrets import weak_password_reason, weak_secret_reason
from services.api.state import utc_now
from services.influx import InfluxClient, InfluxSettings
from services.influx.errors import InfluxError
from services.influx.setup import POLICIES
from services.ledger import LedgerError, MachineRow
from services.ledger.db import make_engine, schema_revisions, shown_url, sqlite_file
from services.ledger.models import MachineStateRow

CLIENT_ID = "officina-doctor"
MIGRATE = "run `officina init --migrate` (the api and ingest also migrate when they start)"

# The secrets every server refuses when weak, and the passwords the compose file hands out.
SECRETS = (
    "OFFICINA_API_SECRET",
    "OFFICINA_SITE_KEY",
    "OFFICINA_PSEUDONYM_KEY",
    "INFLUX_TOKEN",
    "OFFICINA_INFLUX_TOKEN",
)
PASSWORDS = (
    "POSTGRES_PASSWORD",
    "INFLUX_ADMIN_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "MQTT_INGEST_PASSWORD",
    "MQTT_API_PASSWORD",
)
# `officina init` makes passwords of 24 random characters or more; a person's is rarely that.
MIN_PASSWORD_LENGTH = 16


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome: ok, with what was seen, or what to fix."""

    check: str
    seen: str = ""
    fix: str | None = None

    @property
    def needs_fixing(self) -> bool:
        """Whether someone has to act."""
        return self.fix is not None

    def line(self) -> str:
        """The finding as one line of the report."""
        if self.fix is None:
            return f"ok   {self.check}: {self.seen}"
        return f"FIX  {self.check}: {self.fix}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteChecks:
    """What the checks are pointed at: the same settings as the servers."""

    ledger_url: str
    broker: BrokerOptions
    influx_url: str | None
    influx_db: str
    influx_token: str | None
    secrets: Mapping[str, str]
    silent_after: timedelta
    timeout_s: float = 5.0


def run_checks(site: SiteChecks, *, now: datetime | None = None) -> list[Finding]:
    """Every check, in the order a site depends on them."""
    findings = [check_broker(site.broker, timeout_s=site.timeout_s)]
    findings += check_ledger(site.ledger_url, silent_after=site.silent_after, now=now or utc_now())
    findings.append(check_influx(site.influx_url, site.influx_db, site.influx_token))
    findings += check_secrets(site.secrets)
    return findings


def secrets_in_use(environ: Mapping[str, str], env_file: Mapping[str, str]) -> dict[str, str]:
    """The secrets and passwords set in the environment or the `.env` (the environment wins)."""
    names = (*SECRETS, *PASSWORDS)
    merged = {name: env_file[name] for name in names if name in env_file}
    merged.update({name: environ[name] for name in names if name in environ})
    return merged


def check_broker(options: BrokerOptions, *, timeout_s: float) -> Finding:
    """Connect with the login given; the broker's CONNACK in words when it refuses."""
    check = f"broker {options.url}"
    answers: list[ReasonCode] = []
    answered = threading.Event()

    def on_connect(_client: Any, _userdata: Any, _flags: Any, reason: ReasonCode, *_: Any) -> None:
        answers.append(reason)
        answered.set()

    # An id of its own, so the check never takes a server's place on the broker.
    client = make_client(options.but(client_id=CLIENT_ID), fallback_client_id=CLIENT_ID)
    client.on_connect = on_connect
    try:
        client.connect_now()
    except MqttConnectError as err:
        if isinstance(err.__cause__, ConnectionRefusedError):
            return Finding(
                check, fix=f"connection refused: is the broker running at {options.address}?"
            )
        return Finding(check, fix=str(err))
    except MqttError as err:
        return Finding(check, fix=str(err))
    client.loop_start()
    try:
        if not answered.wait(timeout_s):
            return Finding(check, fix=f"no answer to the connect in {timeout_s:g} s")
    finally:
        client.disconnect()
        client.loop_stop()
    reason = answers[0]
    if reason.is_failure:
        return Finding(check, fix=f"{connack_words(reason)}: check the user name and password")
    return Finding(check, seen="reachable, credentials accepted")


def check_ledger(url: str, *, silent_after: timedelta, now: datetime) -> list[Finding]:
    """The ledger reachable and at head; then each gateway, by when it was last heard."""
    check = f"ledger {shown_url(url)}"
    try:
        engine = make_engine(url)
    except LedgerError as err:
        return [Finding(check, fix=str(err))]
    database = sqlite_file(engine.url)
    if database is not None and not database.exists():
        engine.dispose()
        return [Finding(check, fix=f"there is no ledger at {database}: {MIGRATE}")]
    try:
        try:
            current, head = schema_revisions(engine)
        except LedgerError as err:
            return [Finding(check, fix=f"unreachable: {_one_line(err)}")]
        if current is None:
            return [Finding(check, fix=f"reachable, but it has no tables yet: {MIGRATE}")]
        if current != head:
            return [Finding(check, fix=f"at revision {current}, not {head}: {MIGRATE}")]
        try:
            gateways = check_gateways(engine, silent_after=silent_after, now=now)
        except SQLAlchemyError as err:
            return [Finding(check, fix=f"cannot read the machines: {err}")]
        return [Finding(check, seen=f"reachable, migrated to head ({head})"), *gateways]
    finally:
        engine.dispose()


def _one_line(err: LedgerError) -> str:
    """The database driver's own words, on one line."""
    cause = err.__cause__
    said = getattr(cause, "orig", None) or cause or err
    return " ".join(str(said).split())


def check_gateways(engine: Engine, *, silent_after: timedelta, now: datetime) -> list[Finding]:
    """Each gateway with machines, by the latest state any of its machines reported."""
    heard = func.max(MachineStateRow.received_at)
    query = (
        select(MachineRow.site, MachineRow.gateway, heard)
        .outerjoin(
            MachineStateRow,
            (MachineStateRow.site == MachineRow.site) & (MachineStateRow.machine == MachineRow.id),
        )
        .where(MachineRow.retired_at.is_(None))
        .group_by(MachineRow.site, MachineRow.gateway)
        .order_by(MachineRow.site, MachineRow.gateway)
    )
    with Session(engine) as db:
        rows = db.execute(query).all()
    if not rows:
        return [Finding("gateways", seen="none registered yet")]
    findings = []
    for site, gateway, last in rows:
        check = f"gateway {site}/{gateway}"
        if last is None:
            findings.append(Finding(check, fix="never heard from: is it installed and running?"))
            continue
        silent = now - last
        when = last.isoformat(timespec="seconds")
        if silent > silent_after:
            hours = silent.total_seconds() / 3600
            findings.append(
                Finding(check, fix=f"last heard {when}, {hours:.0f} h ago: is it running?")
            )
        else:
            findings.append(Finding(check, seen=f"last heard {when}"))
    return findings


def check_influx(url: str | None, database: str, token: str | None) -> Finding:
    """InfluxDB reachable, with the retention policies `officina ingest influx-setup` makes."""
    if url is None:
        return Finding("influxdb", seen="not configured (no --influx-url): nothing to check")
    check = f"influxdb {url}"
    try:
        settings = InfluxSettings(url=url, database=database, token=token or None)
        with InfluxClient(settings) as client:
            results = client.query(f'SHOW RETENTION POLICIES ON "{database}"')
    except InfluxError as err:
        return Finding(check, fix=str(err))
    shown = {
        str(row.get("name")): (str(row.get("duration")), bool(row.get("default")))
        for row in _rows(results)
    }
    wrong = [
        policy.name
        for policy in POLICIES
        if shown.get(policy.name) != (policy.shown_duration, policy.default)
    ]
    if wrong:
        return Finding(
            check,
            fix=f"retention policies {', '.join(wrong)} missing or changed on {database}: "
            "run `officina ingest influx-setup`",
        )
    return Finding(check, seen=f"reachable, retention policies of {database} in place")


def _rows(results: list[dict[str, object]]) -> list[dict[str, object]]:
    """The rows of InfluxQL results as dicts by column name."""
    rows = []
    for result in results:
        series_list = result.get("series")
        for series in series_list if isinstance(series_list, list) else []:
            columns = [str(column) for column in series.get("columns", [])]
            rows += [
                dict(zip(columns, values, strict=False)) for values in series.get("values", [])
            ]
    return rows


def check_secrets(secrets: Mapping[str, str]) -> list[Finding]:
    """Each secret long and random enough; each password neither a placeholder nor short."""
    findings = []
    for name in SECRETS:
        if name in secrets:
            reason = weak_secret_reason(secrets[name])
            findings.append(
                Finding(f"secret {name}", seen="strong")
                if reason is None
                else Finding(f"secret {name}", fix=f"{reason} (`officina init` makes good ones)")
            )
    for name in PASSWORDS:
        if name in secrets:
            value = secrets[name]
            reason = weak_password_reason(value)
            if reason is None and len(value) < MIN_PASSWORD_LENGTH:
                reason = f"shorter than {MIN_PASSWORD_LENGTH} characters"
            findings.append(
                Finding(f"password {name}", seen="set")
                if reason is None
                else Finding(f"password {name}", fix=reason)
            )
    if not findings:
        findings.append(
            Finding("secrets", fix="none found in the environment: pass --env-file .env")
        )
    return findings
