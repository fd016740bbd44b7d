"""Qualifications: a member trained on a machine, maybe until a refresher is due."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from services.api.schemas.common import Id, Instant


class QualificationBase(BaseModel):
    """Who may use which machine."""

    member: Id
    machine: Id


class QualificationCreate(QualificationBase):
    """Grant or renew a qualification; `valid_until` null means for good; `staff` marks a member
    who looks after the machine (she may run it out of order, for the repair)."""

    model_config = ConfigDict(extra="forbid")

    valid_until: Instant | None = None
    staff: bool = False


class QualificationPublic(QualificationBase):
    """A qualification as the registry holds it."""

    model_config = ConfigDict(from_attributes=True)

    granted_at: datetime
    valid_until: datetime | None
    granted_by: str | None
    staff: bool
