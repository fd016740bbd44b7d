"""Each machine's service state in short: out of order (why), tasks due, what is left before the
next service; shown on the floor and written to InfluxDB for the dashboards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.influx import FieldValue, Point
from services.influx.measurements import MAINTENANCE
from services.ledger.maintenance import Maintenance, TaskState

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class MachineService:
    """Where one machine's maintenance stands: None where no task counts that way."""

    machine: str
    out_of_order: str | None = None
    tasks_due: int = 0
    hours_to_service: float | None = None
    days_to_service: float | None = None


def _hours_left(state: TaskState) -> float | None:
    every_s = state.task.every_running_s
    return None if every_s is None else max(0.0, (every_s - state.running_s) / 3600)


def _days_left(state: TaskState, now: datetime) -> float | None:
    if state.next_on is None:
        return None
    return max(0.0, (state.next_on - now).total_seconds() / DAY_S)


def _least(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(min(known), 3) if known else None


def machine_services(
    maintenance: Maintenance, site: str, machines: Iterable[str], *, now: datetime
) -> dict[str, MachineService]:
    """Every given machine's service state (a machine with no task is in order, nothing due)."""
    tasks: dict[str, list[TaskState]] = {}
    for state in maintenance.tasks(site):
        tasks.setdefault(state.task.machine, []).append(state)
    out = maintenance.out_of_order(site)
    services = {}
    for machine in sorted(set(machines) | tasks.keys() | out.keys()):
        own = tasks.get(machine, [])
        services[machine] = MachineService(
            machine=machine,
            out_of_order=out.get(machine),
            tasks_due=sum(1 for t in own if t.due),
            hours_to_service=_least(_hours_left(t) for t in own),
            days_to_service=_least(_days_left(t, now) for t in own),
        )
    return services


def service_points(services: Mapping[str, MachineService], *, site: str, at_ms: int) -> list[Point]:
    """One `maintenance` point per machine, all at the moment they were evaluated."""
    points = []
    for machine in sorted(services):
        service = services[machine]
        fields: dict[str, FieldValue] = {
            "out_of_order": 1 if service.out_of_order else 0,
            "tasks_due": service.tasks_due,
            "reason": service.out_of_order or "",
        }
        if service.hours_to_service is not None:
            fields["hours_to_service"] = float(service.hours_to_service)
        if service.days_to_service is not None:
            fields["days_to_service"] = float(service.days_to_service)
        points.append(Point(MAINTENANCE, fields, at_ms, {"site": site, "machine": machine}))
    return points
