"""What ingest writes to InfluxDB, one function per measurement (see services/influx/SCHEMA.md).

Lines are built with plain string operations: every name in them is an officina id
(`[a-z0-9][a-z0-9-]{0,63}`, checked by the contract), so nothing needs escaping, and numbers are
written as `repr(float)` exactly as `Point.to_line` writes them. Tests hold the two equal.
"""

from __future__ import annotations

from contract import GatewayStatus, GatewayStatusValue, SessionRecord, StateChange, Telemetry
from contract.reading import TelemetryReading
from services.influx import FieldValue, Point
from services.influx.measurements import (
    GATEWAY_STATUS,
    MACHINE_STATE,
    REJECTED,
    SESSION,
    SESSION_CONFLICT,
    TELEMETRY,
)

__all__ = [
    "GATEWAY_STATUS",
    "MACHINE_STATE",
    "REJECTED",
    "SESSION",
    "SESSION_CONFLICT",
    "TELEMETRY",
]


def series_key(measurement: str, site: str, machine: str) -> str:
    """The measurement and tags of a machine's series, tags in InfluxDB's (sorted) order."""
    return f"{measurement},machine={machine},site={site}"


def telemetry_line(series: str, sample: Telemetry | TelemetryReading) -> str:
    """A telemetry sample as one line at its gateway time; absent readings are left out."""
    # One f-string: this runs for nearly every message. The readings are floats already (both
    # readers make them so), and the state is a string (a StrEnum formats as its value).
    volts, watts, wh = sample.volts, sample.watts, sample.wh
    if volts is not None and watts is not None and wh is not None:
        # What a metering gateway sends every time, written out: a tenth less time than below.
        return (
            f"{series} amps={sample.amps!r},volts={volts!r},watts={watts!r},wh={wh!r}"
            f',state="{sample.state}",seq={sample.seq}i {sample.ts}'
        )
    return (
        f"{series} amps={sample.amps!r}"
        f"{'' if volts is None else f',volts={volts!r}'}"
        f"{'' if watts is None else f',watts={watts!r}'}"
        f"{'' if wh is None else f',wh={wh!r}'}"
        f',state="{sample.state}",seq={sample.seq}i {sample.ts}'
    )


def state_line(series: str, change: StateChange) -> str:
    """A state change at the moment it began, so a re-delivery overwrites the same point."""
    line = f'{series} state="{change.state.value}"'
    if change.session is not None:
        line += f',session="{change.session}"'
    return f"{line} {change.since}"


def session_line(site: str, record: SessionRecord, user: str) -> str:
    """A closed session under its member's pseudonym, at its start: a re-delivery overwrites it."""
    return (
        f"{SESSION},machine={record.machine},site={site},user={user} "
        f"running_s={float(record.running_s)!r},unlocked_s={float(record.unlocked_s)!r},"
        f"idle_s={float(record.idle_s)!r},energy_wh={float(record.energy_wh)!r} {record.started}"
    )


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


def session_point(site: str, record: SessionRecord, user: str) -> Point:
    """The same session as a general Point."""
    fields: dict[str, FieldValue] = {
        key: float(getattr(record, key))
        for key in ("running_s", "unlocked_s", "idle_s", "energy_wh")
    }
    tags = {"site": site, "machine": record.machine, "user": user}
    return Point(SESSION, fields, record.started, tags)


def gateway_series(site: str, gateway: str) -> str:
    """The measurement and tags of a gateway's status series, tags in InfluxDB's order."""
    return f"{GATEWAY_STATUS},gateway={gateway},site={site}"


def gateway_status_time(status: GatewayStatus, received_ms: int) -> int:
    """When a status is placed: its `ts`, except a last will's, which is placed when it came.

    A last will (offline, without the spool an online gateway reports) was made when the
    gateway connected, before the online statuses that followed; at its `ts` it would hide
    behind them. A re-delivered will adds a second point saying offline, no other harm.
    """
    is_will = status.status is GatewayStatusValue.OFFLINE and status.spool is None
    return received_ms if is_will else status.ts


def gateway_status_line(series: str, status: GatewayStatus, at_ms: int) -> str:
    """A gateway's status as one line; the spool only when the gateway sent it."""
    online = 1.0 if status.status is GatewayStatusValue.ONLINE else 0.0
    line = (
        f'{series} status="{status.status.value}",online={online!r},'
        f"machines={float(len(status.machines))!r}"
    )
    if status.spool is not None:
        line += f",spool={float(status.spool)!r}"
    if status.spool_oldest_s is not None:
        line += f",spool_oldest_s={float(status.spool_oldest_s)!r}"
    return f"{line} {at_ms}"


def conflict_line(site: str, machine: str, at_ms: int) -> str:
    """One session delivered again with another body, counted under its site and machine."""
    return f"{SESSION_CONFLICT},machine={machine},site={site} count=1.0 {at_ms}"


def rejected_line(site: str, kind: str, at_ms: int) -> str:
    """One rejected message, counted under its site and topic kind (each may be `unknown`)."""
    return f"{REJECTED},kind={kind},site={site} count=1.0 {at_ms}"


def gateway_status_point(site: str, gateway: str, status: GatewayStatus, at_ms: int) -> Point:
    """The same status as a general Point."""
    fields: dict[str, FieldValue] = {
        "status": status.status.value,
        "online": 1.0 if status.status is GatewayStatusValue.ONLINE else 0.0,
        "machines": float(len(status.machines)),
    }
    if status.spool is not None:
        fields["spool"] = float(status.spool)
    if status.spool_oldest_s is not None:
        fields["spool_oldest_s"] = float(status.spool_oldest_s)
    return Point(GATEWAY_STATUS, fields, at_ms, {"site": site, "gateway": gateway})


def rejected_point(site: str, kind: str, at_ms: int) -> Point:
    """The same rejected message as a general Point."""
    return Point(REJECTED, {"count": 1.0}, at_ms, {"site": site, "kind": kind})
