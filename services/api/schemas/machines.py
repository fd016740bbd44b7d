"""Machines: which gateway runs them, their run-detection thresholds, their access lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.api.schemas.common import Id, Name

Amps = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


class MachineBase(BaseModel):
    """A machine's name, gateway and thresholds (`idle_amps < run_amps`)."""

    name: Name
    gateway: Id
    idle_amps: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
    run_amps: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
    hysteresis_amps: Amps = 0.0
    min_dwell_s: Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)] = 2.0
    # From the machine's plate; a session's energy beyond 1.5 times what it could draw is refused.
    rated_w: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)] | None = None


class MachineSave(MachineBase):
    """A machine to register, or its new name, gateway and thresholds."""

    model_config = ConfigDict(extra="forbid")


class MachinePublic(MachineBase):
    """A machine as the registry holds it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    site: str
    added_at: datetime
    retired_at: datetime | None


class AclEntryPublic(BaseModel):
    """One card the machine grants."""

    card_hash: str
    member: str
    until: datetime | None


class AclPublic(BaseModel):
    """What the machine's gateway is told to grant, as of now."""

    machine: str
    entries: list[AclEntryPublic]


class CommandCreate(BaseModel):
    """A remote command to a machine's gateway."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["lock", "unlock"]
