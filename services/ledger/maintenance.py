"""Maintenance: service tasks due by running hours or days, faults, and the service log.

A machine is out of order while a fault reported on it is open or a critical task of it is due;
a coordinator signs it off by closing the fault or signing the task off, which resets the task's
counters. Running hours are the booked sessions' running time since the task was last done.
Whether a task is due is settled by `refresh`, which also announces `maintenance.due` in the
transaction that records it; reports of faults announce `fault.reported` the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.ledger.errors import RegistryError
from services.ledger.models import (
    NAME_LEN,
    FaultRow,
    MachineRow,
    MaintenanceTaskRow,
    ServiceLogRow,
    SessionRow,
)
from services.ledger.outbox import EventType, OutboxEvent, announce
from services.ledger.store import LedgerStore

# The gateway's config carries the reason in at most 64 characters.
REASON_LEN = 64
MAX_TEXT = 4000
MAX_RUNNING_H = 100_000
MAX_DAYS = 3650


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSpec:
    """A task as a coordinator sets it: what, how often, and whether it stops the machine."""

    title: str
    every_running_h: float | None = None
    every_days: int | None = None
    critical: bool = False

    def __post_init__(self) -> None:
        if not self.title.strip() or len(self.title) > NAME_LEN:
            raise RegistryError("title", f"must be 1 to {NAME_LEN} characters")
        if self.every_running_h is None and self.every_days is None:
            raise RegistryError("every_running_h", "give running hours, days, or both")
        h = self.every_running_h
        if h is not None and not (0 < h <= MAX_RUNNING_H and math.isfinite(h)):
            raise RegistryError("every_running_h", f"must be above 0 and at most {MAX_RUNNING_H}")
        if self.every_days is not None and not 0 < self.every_days <= MAX_DAYS:
            raise RegistryError("every_days", f"must be 1 to {MAX_DAYS}")

    @property
    def every_running_s(self) -> int | None:
        """The running time between services, in whole seconds (at least one)."""
        h = self.every_running_h
        return None if h is None else max(1, round(h * 3600))


@dataclass(frozen=True, slots=True)
class TaskState:
    """A task and where its counters stand at a moment."""

    task: MaintenanceTaskRow
    running_s: float
    next_on: datetime | None
    due: bool

    @property
    def running_h(self) -> float:
        """Running hours since the task was last done."""
        return self.running_s / 3600


def _next_on(task: MaintenanceTaskRow) -> datetime | None:
    return None if task.every_days is None else task.done_at + timedelta(days=task.every_days)


def is_due(task: MaintenanceTaskRow, running_s: float, now: datetime) -> bool:
    """Whether a task's running hours or its days have run out."""
    by_hours = task.every_running_s is not None and running_s >= task.every_running_s
    next_on = _next_on(task)
    return by_hours or (next_on is not None and now >= next_on)


def _reason(faults: int, due_titles: Sequence[str]) -> str | None:
    if faults:
        return "fault reported"
    if due_titles:
        return f"service due: {due_titles[0]}"[:REASON_LEN]
    return None


class Maintenance(LedgerStore):
    """Reads and writes the maintenance tables of the ledger."""

    @staticmethod
    def _machine(db: Session, site: str, machine: str) -> MachineRow:
        row = db.get(MachineRow, (site, machine))
        if row is None:
            raise RegistryError("machine", f"{site}/{machine} is not a registered machine")
        return row

    @staticmethod
    def _running_s(db: Session, site: str, machine: str, since: datetime) -> float:
        query = select(func.coalesce(func.sum(SessionRow.running_s), 0.0)).where(
            SessionRow.site == site, SessionRow.machine == machine, SessionRow.ended > since
        )
        return float(db.scalar(query) or 0.0)

    def add_task(self, site: str, machine: str, spec: TaskSpec, *, by: str) -> MaintenanceTaskRow:
        """Set a new task on a machine; its counters start now."""
        with self._transaction(f"add a task to {site}/{machine}") as db:
            self._machine(db, site, machine)
            row = MaintenanceTaskRow(
                site=site,
                machine=machine,
                title=spec.title.strip(),
                every_running_s=spec.every_running_s,
                every_days=spec.every_days,
                critical=spec.critical,
                done_at=self._clock(),
                created_by=by[:NAME_LEN],
            )
            db.add(row)
            db.flush()
            return row

    def drop_task(self, site: str, machine: str, task_id: int) -> bool:
        """Delete a task (its log entries stay); False if the machine has no such task."""
        with self._transaction(f"drop task {task_id}") as db:
            row = db.get(MaintenanceTaskRow, task_id)
            if row is None or (row.site, row.machine) != (site, machine):
                return False
            db.delete(row)
            return True

    def tasks(self, site: str, machine: str | None = None) -> list[TaskState]:
        """The tasks of a machine (or of the site) with their counters now, by machine and id."""
        now = self._clock()
        query = select(MaintenanceTaskRow).where(MaintenanceTaskRow.site == site)
        if machine is not None:
            query = query.where(MaintenanceTaskRow.machine == machine)
        query = query.order_by(MaintenanceTaskRow.machine, MaintenanceTaskRow.id)
        with self._transaction("read maintenance tasks") as db:
            states = []
            for task in db.scalars(query):
                running = self._running_s(db, site, task.machine, task.done_at)
                states.append(TaskState(task, running, _next_on(task), is_due(task, running, now)))
            return states

    def sign_off(
        self, site: str, machine: str, task_id: int, *, by: str, notes: str = "", parts: str = ""
    ) -> ServiceLogRow | None:
        """Record a task done and reset its counters; None if the machine has no such task."""
        _check_text(notes, "notes")
        _check_text(parts, "parts")
        now = self._clock()
        with self._transaction(f"sign off task {task_id}") as db:
            task = db.get(MaintenanceTaskRow, task_id, with_for_update=True)
            if task is None or (task.site, task.machine) != (site, machine):
                return None
            task.done_at = now
            task.due_since = None
            entry = ServiceLogRow(
                site=site,
                machine=machine,
                task_id=task.id,
                what=task.title,
                done_at=now,
                done_by=by[:NAME_LEN],
                notes=notes,
                parts=parts,
            )
            db.add(entry)
            db.flush()
            return entry

    def report_fault(
        self,
        site: str,
        machine: str,
        text: str,
        *,
        by: str,
        photo: bytes | None = None,
        photo_type: str | None = None,
    ) -> FaultRow:
        """Record a fault: the machine is out of order until it is closed; announces it."""
        if not text.strip():
            raise RegistryError("text", "say what is wrong")
        _check_text(text, "text")
        now = self._clock()
        with self._transaction(f"report a fault on {site}/{machine}") as db:
            self._machine(db, site, machine)
            row = FaultRow(
                site=site,
                machine=machine,
                text=text.strip(),
                reported_at=now,
                reported_by=by[:NAME_LEN],
                photo=photo,
                photo_type=photo_type,
            )
            db.add(row)
            db.flush()
            data = {"fault": row.id, "site": site, "machine": machine, "text": row.text}
            announce(db, [OutboxEvent(EventType.FAULT_REPORTED, data)], now)
            return row

    def close_fault(
        self, site: str, machine: str, fault_id: int, *, by: str, notes: str = "", parts: str = ""
    ) -> ServiceLogRow | None:
        """Close an open fault, logging what was done; None if the machine has no such open one."""
        _check_text(notes, "notes")
        _check_text(parts, "parts")
        now = self._clock()
        with self._transaction(f"close fault {fault_id}") as db:
            fault = db.get(FaultRow, fault_id, with_for_update=True)
            if fault is None or (fault.site, fault.machine) != (site, machine):
                return None
            if fault.closed_at is not None:
                return None
            fault.closed_at = now
            fault.closed_by = by[:NAME_LEN]
            entry = ServiceLogRow(
                site=site,
                machine=machine,
                fault_id=fault.id,
                what=f"fault: {fault.text}"[:NAME_LEN],
                done_at=now,
                done_by=by[:NAME_LEN],
                notes=notes,
                parts=parts,
            )
            db.add(entry)
            db.flush()
            return entry

    def save_fault_photo(
        self, site: str, machine: str, fault_id: int, *, data: bytes, content_type: str
    ) -> None:
        """Give a fault its photo, replacing any earlier one."""
        with self._transaction(f"save the photo of fault {fault_id}") as db:
            row = db.get(FaultRow, fault_id)
            if row is None or (row.site, row.machine) != (site, machine):
                raise RegistryError("fault", f"{machine} has no fault {fault_id}")
            row.photo = data
            row.photo_type = content_type

    def fault(self, site: str, machine: str, fault_id: int) -> FaultRow | None:
        """One fault of a machine."""
        with self._transaction("read a fault") as db:
            row = db.get(FaultRow, fault_id)
            return row if row is not None and (row.site, row.machine) == (site, machine) else None

    def faults(
        self, site: str, machine: str | None = None, *, open_only: bool = False
    ) -> list[FaultRow]:
        """Faults of a machine (or the site), newest first."""
        query = select(FaultRow).where(FaultRow.site == site)
        if machine is not None:
            query = query.where(FaultRow.machine == machine)
        if open_only:
            query = query.where(FaultRow.closed_at.is_(None))
        with self._transaction("read faults") as db:
            return list(db.scalars(query.order_by(FaultRow.reported_at.desc(), FaultRow.id.desc())))

    def service_log(self, site: str, machine: str, *, limit: int = 100) -> list[ServiceLogRow]:
        """What was done to a machine, newest first."""
        query = (
            select(ServiceLogRow)
            .where(ServiceLogRow.site == site, ServiceLogRow.machine == machine)
            .order_by(ServiceLogRow.done_at.desc(), ServiceLogRow.id.desc())
            .limit(limit)
        )
        with self._transaction("read the service log") as db:
            return list(db.scalars(query))

    def refresh(self, site: str) -> set[str]:
        """Mark tasks that came due (announcing each) or stopped being due; the machines whose
        out-of-order reason changed."""
        now = self._clock()
        before = self.out_of_order(site)
        query = select(MaintenanceTaskRow).where(MaintenanceTaskRow.site == site)
        with self._transaction("refresh maintenance tasks") as db:
            events = []
            for task in db.scalars(query.with_for_update()):
                due = is_due(task, self._running_s(db, site, task.machine, task.done_at), now)
                if due and task.due_since is None:
                    task.due_since = now
                    data = {
                        "task": task.id,
                        "site": site,
                        "machine": task.machine,
                        "title": task.title,
                        "critical": task.critical,
                    }
                    events.append(OutboxEvent(EventType.MAINTENANCE_DUE, data))
                elif not due and task.due_since is not None:
                    task.due_since = None
            announce(db, events, now)
        after = self.out_of_order(site)
        return {m for m in before.keys() | after.keys() if before.get(m) != after.get(m)}

    def out_of_order(self, site: str) -> dict[str, str]:
        """The site's machines out of order, with the reason in short words."""
        faults = (
            select(FaultRow.machine, func.count())
            .where(FaultRow.site == site, FaultRow.closed_at.is_(None))
            .group_by(FaultRow.machine)
        )
        due = (
            select(MaintenanceTaskRow.machine, MaintenanceTaskRow.title)
            .where(
                MaintenanceTaskRow.site == site,
                MaintenanceTaskRow.critical,
                MaintenanceTaskRow.due_since.is_not(None),
            )
            .order_by(MaintenanceTaskRow.due_since, MaintenanceTaskRow.id)
        )
        with self._transaction("read which machines are out of order") as db:
            open_faults: dict[str, int] = {m: n for m, n in db.execute(faults)}
            due_titles: dict[str, list[str]] = {}
            for machine, title in db.execute(due):
                due_titles.setdefault(machine, []).append(title)
        reasons = {}
        for machine in open_faults.keys() | due_titles.keys():
            reason = _reason(open_faults.get(machine, 0), due_titles.get(machine, []))
            if reason is not None:
                reasons[machine] = reason
        return reasons


def _check_text(value: str, field: str) -> None:
    if len(value) > MAX_TEXT:
        raise RegistryError(field, f"at most {MAX_TEXT} characters")
