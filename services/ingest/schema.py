"""What ingest writes to InfluxDB, one function per measurement (documented in SCHEMA.md)."""

from __future__ import annotations

from contract import StateChange, Telemetry
from services.ingest.line_protocol import FieldValue, Point

TELEMETRY = "telemetry"
MACHINE_STATE = "machine_state"


def telemetry_point(site: str, machine: str, sample: Telemetry) -> Point:
    """A telemetry sample at its gateway time; optional readings are left out when absent."""
    fields: dict[str, FieldValue] = {"amps": sample.amps}
    for key in ("volts", "watts", "wh"):
        value = getattr(sample, key)
        if value is not None:
            fields[key] = float(value)
    fields["state"] = sample.state.value
    fields["seq"] = sample.seq
    return Point(TELEMETRY, fields, sample.ts, {"site": site, "machine": machine})


def state_point(site: str, machine: str, change: StateChange) -> Point:
    """A state change at the moment it began, so a re-delivery overwrites the same point."""
    fields: dict[str, FieldValue] = {"state": change.state.value}
    if change.session is not None:
        fields["session"] = change.session
    return Point(MACHINE_STATE, fields, change.since, {"site": site, "machine": machine})
