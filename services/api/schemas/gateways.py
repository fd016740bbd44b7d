"""Gateways: their broker and api credentials, issued once and shown once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.api.gateway_toml import DEFAULT_SPOOL_PATH, Driver
from services.api.schemas.common import Id

Channel = Annotated[int, Field(ge=0, le=15)]


class GatewayPublic(BaseModel):
    """A gateway as the api knows it; never its secrets."""

    gateway: str
    mqtt_username: str | None
    issued_at: datetime | None
    machines: list[str]
    online: bool | None


class GatewayCredentials(BaseModel):
    """Fresh credentials: shown in this response only; only their hashes are kept."""

    gateway: str
    mqtt_username: str
    mqtt_password: str
    api_username: str
    api_password: str
    issued_at: datetime


class BrokerFiles(BaseModel):
    """Mosquitto's password file and ACL file for every gateway with credentials."""

    password_file: str
    acl_file: str


class MachineWiring(BaseModel):
    """How one machine is plugged into the gateway: its board and serial port."""

    model_config = ConfigDict(extra="forbid")

    machine: Id
    driver: Driver
    port: Annotated[str, StringConstraints(pattern=r"^/dev/[A-Za-z0-9._:/-]{1,200}$")]
    channel: Channel = 0
    relay_channel: Channel = 0


class GatewayConfigCreate(BaseModel):
    """What a gateway's `gateway.toml` needs beyond the registry: its spool and its wiring."""

    model_config = ConfigDict(extra="forbid")

    spool_path: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._/-]{1,250}$")] = (
        DEFAULT_SPOOL_PATH
    )
    machines: Annotated[list[MachineWiring], Field(min_length=1, max_length=8)]
