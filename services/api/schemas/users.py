"""Logins, tokens and who is asking."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.api.schemas.common import Id

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@+-]{1,200}$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
NewPassword = Annotated[str, StringConstraints(min_length=12, max_length=256)]


class LoginRequest(BaseModel):
    """A user name and password, exchanged for a token."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Password


class TokenPublic(BaseModel):
    """A bearer token, shown once; pages also get it as an HttpOnly cookie."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a secret
    expires_at: datetime
    role: str
    member: str | None
    csrf: str


class UserBase(BaseModel):
    """What every login has."""

    username: Username
    role: Literal["admin", "coordinator", "member"]
    member: Id | None = None


class UserCreate(UserBase):
    """A new login for a person (gateways get theirs from `POST /gateways`)."""

    model_config = ConfigDict(extra="forbid")

    password: NewPassword


class UserPublic(BaseModel):
    """A login as admins see it; never its password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    member: str | None
    gateway: str | None
    created_at: datetime
    disabled_at: datetime | None


class MePublic(BaseModel):
    """Who the token belongs to."""

    username: str
    role: str
    member: str | None
    gateway: str | None
