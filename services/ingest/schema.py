"""What ingest writes to InfluxDB, one function per measurement (documented in SCHEMA.md).

Lines are built with plain string operations: every name in them is an officina id
(`[a-z0-9][a-z0-9-]{0,63}`, checked by the contract), so nothing needs escaping, and numbers are
written as `repr(float)` exactly as `Point.to_line` writes them. Tests hold the two equal.
"""

from __future__ import annotations

from contract import StateChange, Telemetry
from services.ingest.line_protocol import FieldValue, Point

TELEMETRY = "telemetry"
MACHINE_STATE = "machine_state"


def series_key(measurement: str, site: str, machine: str) -> str:
    """The measurement and tags of a machine's series, tags in InfluxDB's (sorted) order."""
    return f"{measurement},machine={machine},site={site}"


def telemetry_line(series: str, sample: Telemetry) -> str:
    """A telemetry sample as one line at its gateway time; absent readings are left out."""
    line = f"{series} amps={float(sample.amps)!r}"
    if sample.volts is not None:
        line += f",volts={float(sample.volts)!r}"
    if sample.watts is not None:
        line += f",watts={float(sample.watts)!r}"
    if sample.wh is not None:
        line += f",wh={float(sample.wh)!r}"
    return f'{line},state="{sample.state.value}",seq={sample.seq}i {sample.ts}'


def state_line(series: str, change: StateChange) -> str:
    """A state change at the moment it began, so a re-delivery overwrites the same point."""
    line = f'{series} state="{change.state.value}"'
    if change.session is not None:
        line += f',session="{change.session}"'
    return f"{line} {change.since}"


def telemetry_point(site: str, machine: str, sample: Telemetry) -> Point:
    """The same sample as a general Point (the reference the fast line is checked against)."""
    fields: dict[str, FieldValue] = {"amps": float(sample.amps)}
    for key in ("volts", "watts", "wh"):
        value = getattr(sample, key)
        if value is not None:
            fields[key] = float(value)
    fields["state"] = sample.state.value
    fields["seq"] = sample.seq
    return Point(TELEMETRY, fields, sample.ts, {"site": site, "machine": machine})


def state_point(site: str, machine: str, change: StateChange) -> Point:
    """The same state change as a general Point."""
    fields: dict[str, FieldValue] = {"state": change.state.value}
    if change.session is not None:
        fields["session"] = change.session
    return Point(MACHINE_STATE, fields, change.since, {"site": site, "machine": machine})
