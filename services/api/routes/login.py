"""`/login`, `/logout`, `/me`: tokens for people and gateways, with failed logins rate-limited."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request, Response, status

from services.api.accounts import authenticate, issue_token, revoke_token
from services.api.clients import client_address
from services.api.deps import SESSION_COOKIE, CurrentUser, DbDep, StateDep
from services.api.ratelimit import LoginBusyError, LoginRefusedError
from services.api.schemas.users import LoginRequest, MePublic, TokenPublic
from services.api.security import csrf_for

router = APIRouter(tags=["login"])
BUSY_RETRY_AFTER_S = 1


@router.post(
    "/login",
    responses={
        401: {"description": "Wrong user name or password"},
        429: {"description": "Too many failed logins: wait"},
        503: {"description": "Too many logins at once: try again"},
    },
)
def login(
    body: LoginRequest, request: Request, response: Response, state: StateDep, db: DbDep
) -> TokenPublic:
    """Exchange a user name and password for a bearer token (also set as the pages' cookie)."""
    client = client_address(request, state.settings.trusted_proxies)
    try:
        # Counted before the slow check, so parallel guesses cannot all pass a limit of five.
        attempt = state.limiter.reserve(username=body.username, client=client)
    except LoginRefusedError as err:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed logins; wait and try again",
            headers={"Retry-After": str(math.ceil(err.wait_s))},
        ) from err
    try:
        with state.limiter.check_slot():
            user = authenticate(db, state.passwords, body.username, body.password)
    except LoginBusyError as err:
        state.limiter.unchecked(attempt)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="too many logins at once; try again",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        ) from err
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong user name or password")
    state.limiter.succeeded(attempt)
    settings = state.settings
    issued = issue_token(
        db, user, secret=settings.secret, now=state.clock(), ttl_s=settings.token_ttl_s
    )
    db.commit()
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=settings.token_ttl_s,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
    )
    return TokenPublic(
        access_token=issued.token,
        expires_at=issued.expires_at,
        role=user.role,
        member=user.member,
        csrf=csrf_for(issued.token, settings.secret),
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(user: CurrentUser, state: StateDep, db: DbDep, response: Response) -> None:
    """End this token now, and drop the pages' cookie."""
    revoke_token(db, user.token, secret=state.settings.secret, now=state.clock())
    db.commit()
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me")
def me(user: CurrentUser) -> MePublic:
    """Who this token belongs to."""
    return MePublic(
        username=user.username, role=user.role.value, member=user.member, gateway=user.gateway
    )
