"""Maintenance: service tasks of a machine, faults reported on it, and its service log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.api.schemas.common import Name

Note = Annotated[str, StringConstraints(max_length=4000)]
FaultText = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]


class TaskCreate(BaseModel):
    """A task: due after `every_running_h` running hours, `every_days` days, or whichever first."""

    model_config = ConfigDict(extra="forbid")

    title: Name
    every_running_h: Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)] | None = None
    every_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    critical: bool = False


class TaskPublic(BaseModel):
    """A task and where its counters stand now."""

    id: int
    machine: str
    title: str
    every_running_h: float | None
    every_days: int | None
    critical: bool
    done_at: datetime
    running_h: float
    next_on: datetime | None
    due: bool
    due_since: datetime | None


class SignOff(BaseModel):
    """What was done: notes and the parts used."""

    model_config = ConfigDict(extra="forbid")

    notes: Note = ""
    parts: Note = ""


class FaultCreate(BaseModel):
    """What is wrong with the machine."""

    model_config = ConfigDict(extra="forbid")

    text: FaultText


class FaultPublic(BaseModel):
    """A fault reported on a machine."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    machine: str
    text: str
    reported_at: datetime
    reported_by: str
    photo: bool
    closed_at: datetime | None
    closed_by: str | None


class ServiceLogPublic(BaseModel):
    """One line of a machine's service log."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    machine: str
    task_id: int | None
    fault_id: int | None
    what: str
    done_at: datetime
    done_by: str
    notes: str
    parts: str


class MaintenancePublic(BaseModel):
    """A machine's maintenance: whether it is out of order, its tasks, open faults and log."""

    machine: str
    out_of_order: str | None
    tasks: list[TaskPublic]
    faults: list[FaultPublic]
    log: list[ServiceLogPublic]
