"""Machines: which gateway runs them, their policy (run thresholds, session rules), access lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.payloads import Amps, DwellSeconds, MarginAmps, RuleSeconds, WarnSeconds
from services.api.schemas.common import Id, Name

RatedWatts = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]


class MachineSave(BaseModel):
    """A machine to register, or its new name, gateway and policy.

    A policy field left out keeps the machine's current value, or, for a new machine, the
    default (`idle_amps` 0.5 A, `run_amps` 2 A, no hysteresis, a 2 s dwell, a 15 min idle
    timeout, 8 h at most, a warning 60 s before an automatic lock).
    """

    model_config = ConfigDict(extra="forbid")

    name: Name
    gateway: Id
    idle_amps: Amps | None = None
    run_amps: Amps | None = None
    hysteresis_amps: MarginAmps | None = None
    min_dwell_s: DwellSeconds | None = None
    idle_timeout_s: RuleSeconds | None = None
    max_duration_s: RuleSeconds | None = None
    warn_before_s: WarnSeconds | None = None
    # From the machine's plate; a session's energy beyond 1.5 times what it could draw is refused.
    rated_w: RatedWatts | None = None


class MachinePublic(BaseModel):
    """A machine as the registry holds it, with the whole policy its gateway is sent."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    site: str
    name: str
    gateway: str
    idle_amps: float
    run_amps: float
    hysteresis_amps: float
    min_dwell_s: float
    idle_timeout_s: float
    max_duration_s: float
    warn_before_s: float
    rated_w: float | None
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
