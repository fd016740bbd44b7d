"""Who may see a page: dependencies that raise, and the two answers a page gives instead.

A page asked for without a login sends the visitor to the login form (and back afterwards); a
page the login may not see answers 403 with the site's message page. Both are raised by the
dependencies here and answered in one place, so a page's handler holds only what it shows.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.api.accounts import user_for_token
from services.api.deps import SESSION_COOKIE, DbDep, Principal, StateDep
from services.api.schemas.common import Id
from services.api.security import Role


class PageAccessError(Exception):
    """A page this visitor may not see as they are."""


class LoginNeededError(PageAccessError):
    """The page needs a login and the visitor has none (or it expired)."""


class PageForbiddenError(PageAccessError):
    """The login may not see this page."""

    def __init__(self, user: Principal) -> None:
        super().__init__(f"{user.username} may not see this page")
        self.user = user


def page_user(request: Request, state: StateDep, db: DbDep) -> Principal | None:
    """The person logged in by the page cookie, or None (gateways never see pages)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    row = user_for_token(db, token, secret=state.settings.secret, now=state.clock())
    if row is None or row.role == Role.GATEWAY.value:
        return None
    return Principal(
        user_id=row.id,
        username=row.username,
        role=Role(row.role),
        member=row.member,
        gateway=row.gateway,
        token=token,
    )


MaybeUser = Annotated[Principal | None, Depends(page_user)]


def logged_in(user: MaybeUser) -> Principal:
    """Anyone logged in; else LoginNeededError."""
    if user is None:
        raise LoginNeededError("log in first")
    return user


PageUser = Annotated[Principal, Depends(logged_in)]


def staff_only(user: PageUser) -> Principal:
    """Coordinators and admins; else PageForbiddenError."""
    if not user.is_staff:
        raise PageForbiddenError(user)
    return user


StaffPage = Annotated[Principal, Depends(staff_only)]


def member_or_staff(member: Id, user: PageUser) -> Principal:
    """Staff, or the member whose page it is (the path's `member`); else PageForbiddenError."""
    if not (user.is_staff or user.member == member):
        raise PageForbiddenError(user)
    return user


MemberPage = Annotated[Principal, Depends(member_or_staff)]


def login_redirect(request: Request) -> Response:
    """To the login form, coming back to the page asked for."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
