"""First run: the pages a fresh site offers before anyone can log in.

While no login exists, `/setup` lets whoever sits at the server make the first admin: only a
request whose peer is a loopback address, with no proxy in between, is offered the form. The
form has no login to guard it, so the page hands out a one-time token (a random value in a
strict same-site cookie, and its keyed digest in the page) that the POST must send back, and
attempts count against the login limits. Once any login exists the page is gone: the GET sends
the visitor to the login form and the POST answers 404.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from ipaddress import ip_address, ip_network
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.api.accounts import MAX_PASSWORD_LEN, AccountError
from services.api.clients import client_address
from services.api.deps import CSRF_HEADER, DbDep, StateDep
from services.api.first_admin import FirstAdminExistsError, create_first_admin, has_logins
from services.api.ratelimit import LoginBusyError, LoginRefusedError
from services.api.state import ApiState
from services.api.web.render import render

router = APIRouter(include_in_schema=False)

SETUP_COOKIE = "officina_setup"
SETUP_TOKEN_TTL_S = 15 * 60
# The login limits count attempts by user name and address; the form's attempts share one name.
SETUP_ATTEMPT = "(first admin)"
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
# Two forms sent at once would both find the site empty; one at a time, the second finds an admin.
_ONE_AT_A_TIME = threading.Lock()


class FirstAdminForm(BaseModel):
    """What the first-run form sends."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=MAX_PASSWORD_LEN)
    password_again: str = Field(max_length=MAX_PASSWORD_LEN)


def from_this_machine(request: Request, state: ApiState) -> bool:
    """A loopback peer that is no proxy: someone at the server itself."""
    peer = request.client.host if request.client else ""
    try:
        loopback = ip_address(peer).is_loopback
    except ValueError:
        return False
    forwarded = any(request.headers.get(name) for name in FORWARDING_HEADERS)
    # A trusted proxy on this machine speaks for visitors elsewhere.
    proxy = any(
        ip_address(peer) in ip_network(network, strict=False)
        for network in state.settings.trusted_proxies
    )
    return loopback and not forwarded and not proxy


def first_run_offered(request: Request, state: ApiState, db: Session) -> bool:
    """Whether this visitor is offered the first admin: nobody can log in, and they are local."""
    if not from_this_machine(request, state):
        return False
    try:
        return not has_logins(db)
    except SQLAlchemyError:
        # The ledger is away: the login form still shows; nothing is offered until it is back.
        return False


def _form_token(nonce: str, secret: str) -> str:
    return hmac.new(secret.encode(), b"setup:" + nonce.encode(), hashlib.sha256).hexdigest()


@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request, state: StateDep, db: DbDep) -> Response:
    """The first admin's form, to a local visitor of a site with no login; else the login form."""
    if not first_run_offered(request, state, db):
        return RedirectResponse("/login", status_code=303)
    nonce = secrets.token_urlsafe(32)
    response = render(
        request, state, "setup.html", None, csrf=_form_token(nonce, state.settings.secret)
    )
    response.set_cookie(
        SETUP_COOKIE,
        nonce,
        max_age=SETUP_TOKEN_TTL_S,
        path="/setup",
        httponly=True,
        samesite="strict",
        secure=state.settings.cookie_secure and request.url.scheme == "https",
    )
    return response


@router.post("/setup", status_code=status.HTTP_201_CREATED)
def create_admin(
    form: FirstAdminForm,
    request: Request,
    response: Response,
    state: StateDep,
    db: DbDep,
    token: Annotated[str, Header(alias=CSRF_HEADER)] = "",
) -> dict[str, str]:
    """Make the first admin: once, from this machine, with the page's one-time token."""
    if not first_run_offered(request, state, db):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="not found")
    nonce = request.cookies.get(SETUP_COOKIE, "")
    expected = _form_token(nonce, state.settings.secret) if nonce else ""
    if not expected or not hmac.compare_digest(token, expected):
        state.rejections.count(CSRF_HEADER)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"{CSRF_HEADER}: missing or not this page's; open /setup again",
        )
    client = client_address(request, state.settings.trusted_proxies)
    try:
        attempt = state.limiter.reserve(username=SETUP_ATTEMPT, client=client)
    except LoginRefusedError as err:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many attempts; wait and try again",
            headers={"Retry-After": str(math.ceil(err.wait_s))},
        ) from err
    if form.password_again != form.password:
        raise AccountError("password_again", "is not the same as password")
    try:
        with _ONE_AT_A_TIME, state.limiter.check_slot():
            create_first_admin(
                db,
                passwords=state.passwords,
                username=form.username,
                password=form.password,
                now=state.clock(),
                only_on_empty_site=True,
            )
            db.commit()
    except LoginBusyError as err:
        state.limiter.unchecked(attempt)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="busy; try again") from err
    except FirstAdminExistsError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="not found") from err
    state.limiter.succeeded(attempt)
    response.delete_cookie(SETUP_COOKIE, path="/setup")
    return {"username": form.username, "role": "admin"}
