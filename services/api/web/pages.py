"""The pages: server-rendered HTML with a little vanilla JS; logged in by the api's cookie."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from services.api.accounts import user_for_token
from services.api.deps import SESSION_COOKIE, Principal, SessionDep, StateDep
from services.api.privacy import members_of_pseudonym
from services.api.routes.floor import floor_now
from services.api.routes.sessions import SessionFilter, find_sessions
from services.api.schemas.common import Day, Id, MonthText
from services.api.security import Role, csrf_for
from services.api.state import ApiState
from services.api.web.i18n import LANG_COOKIE, Lang, language_of, words
from services.api.web.redirects import local_path
from services.billing.errors import BillingError
from services.billing.months import Month
from services.ledger import CardRow, MemberRow, QualificationRow, SessionRow
from services.ledger.pseudonyms import is_pseudonym

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")

router = APIRouter(include_in_schema=False)

_DateTime = datetime
_Date = date


def _user(request: Request, state: ApiState, session: SessionDep) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    row = user_for_token(session, token, secret=state.settings.secret, now=state.clock())
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


class _Formats:
    """Dates, times and numbers in the page's language and the workshop's zone."""

    def __init__(self, lang: Lang, zone: ZoneInfo) -> None:
        self.lang = lang.value
        self.zone = zone

    def datetime(self, value: _DateTime | None) -> str:
        """A date and time, short."""
        return (
            ""
            if value is None
            else format_datetime(value, "short", tzinfo=self.zone, locale=self.lang)
        )

    def time(self, value: _DateTime | None) -> str:
        """A time of day, short."""
        return (
            "" if value is None else format_time(value, "short", tzinfo=self.zone, locale=self.lang)
        )

    def date(self, value: _Date) -> str:
        """A date, long."""
        return format_date(value, "full", locale=self.lang)

    def number(self, value: float, places: int = 1) -> str:
        """A number with fixed decimals."""
        pattern = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(value, format=pattern, locale=self.lang)

    def money(self, cents: int) -> str:
        """An amount in euros."""
        return "€ " + format_decimal(cents / 100, format="#,##0.00", locale=self.lang)


def _render(
    request: Request,
    state: ApiState,
    template: str,
    user: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    lang = language_of(request)
    zone = ZoneInfo(state.settings.timezone)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": words(lang),
            "lang": lang.value,
            "user": user,
            "csrf": csrf_for(user.token, state.settings.secret) if user else "",
            "fmt": _Formats(lang, zone),
            "site": state.settings.site,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in {lang.value for lang in Lang}:
        response.set_cookie(LANG_COOKIE, lang.value, max_age=365 * 86400, samesite="lax")
    return response


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _forbidden(request: Request, state: ApiState, user: Principal) -> Response:
    return _render(request, state, "message.html", user, status_code=403, message_key="forbidden")


def _staff(request: Request, state: ApiState, session: SessionDep) -> Principal | Response:
    """The logged-in coordinator or admin; else where to send the visitor instead."""
    user = _user(request, state, session)
    if user is None:
        return _to_login(request)
    if not user.is_staff:
        return _forbidden(request, state, user)
    return user


@router.get("/", response_class=HTMLResponse)
def home(request: Request, state: StateDep, session: SessionDep) -> Response:
    """The floor for staff, one's own month for a member."""
    user = _user(request, state, session)
    if user is None:
        return _to_login(request)
    if user.role is Role.MEMBER and user.member:
        return RedirectResponse(f"/members/{user.member}/month", status_code=303)
    return RedirectResponse("/floor", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: StateDep, next: str = "/") -> Response:
    """The login form."""
    return _render(request, state, "login.html", None, next=local_path(next))


@router.get("/floor", response_class=HTMLResponse)
def floor_page(request: Request, state: StateDep, session: SessionDep) -> Response:
    """The live floor: one tile per machine, updated by the SSE stream."""
    user = _user(request, state, session)
    if user is None:
        return _to_login(request)
    return _render(request, state, "floor.html", user, floor=floor_now(state, user))


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    return start, datetime(following.year, following.month, following.day, tzinfo=zone)


def _timeline(rows: list[SessionRow], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Each session as a bar: where it starts and how wide it is, in percent of the day."""
    span = (end - start).total_seconds()
    bars = []
    for row in rows:
        left = max(0.0, (row.started - start).total_seconds() / span * 100)
        right = min(100.0, (row.ended - start).total_seconds() / span * 100)
        bars.append({"left": round(left, 2), "width": round(max(right - left, 0.3), 2), "row": row})
    return bars


@router.get("/machines/{machine}/day", response_class=HTMLResponse)
def machine_day(
    request: Request,
    machine: Id,
    state: StateDep,
    session: SessionDep,
    day: Annotated[Day | None, Query(alias="date")] = None,
) -> Response:
    """A machine's day: its sessions on a timeline (a member sees only their own)."""
    user = _user(request, state, session)
    if user is None:
        return _to_login(request)
    zone = ZoneInfo(state.settings.timezone)
    day = day or datetime.now(zone).date()
    start, end = _day_bounds(day, zone)
    wanted = SessionFilter(
        machine=machine, since=start, until=end, member=None if user.is_staff else user.member
    )
    rows = list(find_sessions(session, state.settings.site, wanted))
    tiles = {t.machine: t for t in floor_now(state, user).machines}
    return _render(
        request,
        state,
        "machine_day.html",
        user,
        machine=machine,
        tile=tiles.get(machine),
        day=day,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        bars=_timeline(rows, start, end),
        rows=rows,
        running_min=sum(r.running_s for r in rows) / 60,
        energy_kwh=sum(r.energy_wh for r in rows) / 1000,
    )


def _month_bounds(month: str | None, zone: ZoneInfo) -> tuple[date, datetime, datetime]:
    today = datetime.now(zone).date()
    try:
        first = date.fromisoformat(f"{month}-01") if month else today.replace(day=1)
    except ValueError:
        first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (
        first,
        datetime(first.year, first.month, 1, tzinfo=zone),
        datetime(following.year, following.month, 1, tzinfo=zone),
    )


@router.get("/members/{member}/month", response_class=HTMLResponse)
def member_month(
    request: Request,
    member: Id,
    state: StateDep,
    session: SessionDep,
    month: Annotated[MonthText | None, Query()] = None,
) -> Response:
    """A member's month: sessions, minutes and energy so far, and statements."""
    user = _user(request, state, session)
    if user is None:
        return _to_login(request)
    if not (user.is_staff or user.member == member):
        return _forbidden(request, state, user)
    row = session.get(MemberRow, member)
    if row is None:
        return _render(
            request, state, "message.html", user, status_code=404, message_key="not_found"
        )
    zone = ZoneInfo(state.settings.timezone)
    first, start, end = _month_bounds(month, zone)
    rows = list(
        find_sessions(
            session, state.settings.site, SessionFilter(member=member, since=start, until=end)
        )
    )
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    billed = Month.of(first)
    statements = [s for s in state.billing.ledger.statements(billed) if s.member == member]
    return _render(
        request,
        state,
        "member_month.html",
        user,
        member=row,
        statements=statements,
        costs_cents=_costs_so_far(state, billed, member),
        month=first.strftime("%Y-%m"),
        month_label=format_date(first, "LLLL yyyy", locale=language_of(request).value),
        previous_month=previous.strftime("%Y-%m"),
        next_month=following.strftime("%Y-%m"),
        rows=rows,
        running_min=sum(r.running_s for r in rows) / 60,
        energy_kwh=sum(r.energy_wh for r in rows) / 1000,
        since_iso=start.isoformat(),
        until_iso=end.isoformat(),
    )


@router.get("/members/by-pseudonym/{pseudonym}", response_class=HTMLResponse)
def member_by_pseudonym(
    request: Request, pseudonym: str, state: StateDep, session: SessionDep
) -> Response:
    """Staff: from a dashboard's pseudonym to the member's month (where Grafana links to)."""
    user = _staff(request, state, session)
    if isinstance(user, Response):
        return user
    key = state.settings.pseudonym_key
    found = members_of_pseudonym(session, pseudonym, key) if key and is_pseudonym(pseudonym) else []
    if len(found) != 1:
        # None, or two members sharing one (the api's route names them).
        return _render(
            request, state, "message.html", user, status_code=404, message_key="not_found"
        )
    return RedirectResponse(f"/members/{quote(found[0].id)}/month", status_code=303)


def _costs_so_far(state: ApiState, month: Month, member: str) -> int | None:
    """What the member's statement would total if the month were billed now."""
    try:
        computed = state.billing.compute(month)
    except BillingError as err:
        log.info("no costs so far for %s in %s: %s", member, month, err)
        return None
    for statement in computed.statements:
        if statement.member.id == member:
            return statement.total_cents
    return 0


@router.get("/manage/members", response_class=HTMLResponse)
def manage_members(request: Request, state: StateDep, session: SessionDep) -> Response:
    """Coordinators: the members, and a form to add one."""
    user = _staff(request, state, session)
    if isinstance(user, Response):
        return user
    members = session.scalars(select(MemberRow).order_by(MemberRow.id)).all()
    return _render(request, state, "manage_members.html", user, members=members)


@router.get("/manage/cards", response_class=HTMLResponse)
def manage_cards(request: Request, state: StateDep, session: SessionDep) -> Response:
    """Coordinators: every card, and forms to add one by UID or by badging it."""
    user = _staff(request, state, session)
    if isinstance(user, Response):
        return user
    cards = session.scalars(
        select(CardRow).where(CardRow.site == state.settings.site).order_by(CardRow.member)
    ).all()
    members = session.scalars(
        select(MemberRow).where(MemberRow.erased_at.is_(None)).order_by(MemberRow.id)
    ).all()
    machines = state.registry.machines(site=state.settings.site)
    return _render(
        request, state, "manage_cards.html", user, cards=cards, members=members, machines=machines
    )


@router.get("/manage/qualifications", response_class=HTMLResponse)
def manage_qualifications(request: Request, state: StateDep, session: SessionDep) -> Response:
    """Coordinators: who may use which machine, and forms to grant or withdraw."""
    user = _staff(request, state, session)
    if isinstance(user, Response):
        return user
    qualifications = session.scalars(
        select(QualificationRow)
        .where(QualificationRow.site == state.settings.site)
        .order_by(QualificationRow.machine, QualificationRow.member)
    ).all()
    members = session.scalars(
        select(MemberRow).where(MemberRow.erased_at.is_(None)).order_by(MemberRow.id)
    ).all()
    machines = state.registry.machines(site=state.settings.site)
    return _render(
        request,
        state,
        "manage_qualifications.html",
        user,
        qualifications=qualifications,
        members=members,
        machines=machines,
        now=state.clock(),
    )


@router.get("/manage/cost-pools", response_class=HTMLResponse)
def manage_cost_pools(
    request: Request,
    state: StateDep,
    session: SessionDep,
    month: Annotated[MonthText | None, Query()] = None,
) -> Response:
    """Coordinators: a month's shared bills, and a form to enter one."""
    user = _staff(request, state, session)
    if isinstance(user, Response):
        return user
    zone = ZoneInfo(state.settings.timezone)
    first, _start, _end = _month_bounds(month, zone)
    billed = Month.of(first)
    return _render(
        request,
        state,
        "manage_cost_pools.html",
        user,
        month=str(billed),
        month_label=format_date(first, "LLLL yyyy", locale=language_of(request).value),
        previous_month=str(billed.previous()),
        next_month=str(billed.next()),
        pools=state.billing.ledger.pools(billed),
        machines=state.registry.machines(site=state.settings.site),
    )
