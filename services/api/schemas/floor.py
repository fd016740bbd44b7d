"""The live floor: one tile per machine."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class MachineTile(BaseModel):
    """What a tile of the floor shows about one machine."""

    machine: str
    name: str
    state: str
    reported_state: str | None
    member: str | None
    member_name: str | None = None
    session: str | None
    since: datetime | None
    amps: float | None
    sparkline: list[float]
    gateway: str | None
    gateway_online: bool | None
    # Why the machine is out of order (a fault, a critical task overdue), and its tasks due.
    out_of_order: str | None = None
    tasks_due: int = 0


class FloorPublic(BaseModel):
    """The whole floor of the site, machines by id."""

    site: str
    broker_connected: bool
    machines: list[MachineTile]
