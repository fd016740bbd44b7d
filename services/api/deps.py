"""Dependencies routes declare: the database handle, who is asking, and what they may reach."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from services.api.accounts import user_for_token
from services.api.security import STAFF, Role, csrf_for
from services.api.state import ApiState

SESSION_COOKIE = "officina_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="A token from `POST /api/v1/login`.")


def get_state(request: Request) -> ApiState:
    """The api's running parts."""
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def get_db(state: StateDep) -> Iterator[Session]:
    """The database handle of one request; routes commit what they change."""
    with state.open_db() as db:
        yield db


DbDep = Annotated[Session, Depends(get_db)]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a login with its role, and the member or gateway it stands for."""

    user_id: int
    username: str
    role: Role
    member: str | None
    gateway: str | None
    token: str

    @property
    def is_staff(self) -> bool:
        """Admins and coordinators run the floor and see everyone's data."""
        return self.role in STAFF

    def check_member(self, member: str) -> None:
        """Refuse (403) unless this login may see the member's data."""
        if not (self.is_staff or (self.role is Role.MEMBER and self.member == member)):
            raise forbidden("this login may see only its own member's data")

    def shown_member(self, member: str | None) -> str | None:
        """A member id as this login may see it on the floor: others' are hidden from members."""
        if member is None or self.is_staff or member == self.member:
            return member
        return None


def forbidden(detail: str) -> HTTPException:
    """A 403 with a reason."""
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def get_current_user(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The login behind the request's bearer token, or its page cookie; 401 if none is valid."""
    if credentials is not None:
        token = credentials.credentials
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise _unauthorized("not logged in")
        # A cookie rides along on any request, so a change must also carry the page's CSRF value.
        if request.method not in _SAFE_METHODS and request.headers.get(CSRF_HEADER) != csrf_for(
            cookie, state.settings.secret
        ):
            raise forbidden(f"missing or wrong {CSRF_HEADER}")
        token = cookie
    # A handle of its own, closed at once: an event stream must not hold a connection for hours.
    with state.open_db() as db:
        user = user_for_token(db, token, secret=state.settings.secret, now=state.clock())
    if user is None:
        raise _unauthorized("token invalid or expired")
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        member=user.member,
        gateway=user.gateway,
        token=token,
    )


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def get_staff(user: CurrentUser) -> Principal:
    """Only admins and coordinators pass."""
    if not user.is_staff:
        raise forbidden("admins and coordinators only")
    return user


def get_admin(user: CurrentUser) -> Principal:
    """Only admins pass."""
    if user.role is not Role.ADMIN:
        raise forbidden("admins only")
    return user


def get_person(user: CurrentUser) -> Principal:
    """People only: gateways reach their access lists and nothing else."""
    if user.role is Role.GATEWAY:
        raise forbidden("gateways reach only their machines' access lists")
    return user


StaffUser = Annotated[Principal, Depends(get_staff)]
AdminUser = Annotated[Principal, Depends(get_admin)]
PersonUser = Annotated[Principal, Depends(get_person)]
