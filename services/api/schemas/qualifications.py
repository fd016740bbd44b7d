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
    """Grant or renew a qualification; `valid_until` null means for good."""

    model_config = ConfigDict(extra="forbid")

    valid_until: Instant | None = None


class QualificationPublic(QualificationBase):
    """A qualification as the registry holds it."""

    model_config = ConfigDict(from_attributes=True)

    granted_at: datetime
    valid_until: datetime | None
    granted_by: str | None
