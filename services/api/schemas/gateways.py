"""Gateways: their broker and api credentials, issued once and shown once."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
