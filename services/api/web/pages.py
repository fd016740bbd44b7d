"""The pages: server-rendered HTML with a little vanilla JS; logged in by the api's cookie.

Pages read through `services.api.queries`, as the routes do, and are guarded by the
dependencies of `web.access`, whose refusals are answered by `login_needed` and `forbidden`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.api import queries
from services.api.deps import DbDep, StateDep
from services.api.schemas.common import Day, Id, MonthText
from services.api.security import Role
from services.api.state import ApiState
from services.api.usage_days import usage_by_day
from services.api.web.access import (
    MemberPage,
    PageForbiddenError,
    PageUser,
    StaffPage,
    login_redirect,
)
from services.api.web.i18n import language_of, words
from services.api.web.pages_charts import usage_charts
from services.api.web.pages_setup import first_run_offered
from services.api.web.redirects import local_path
from services.api.web.render import page_month, page_today, render
from services.billing import formats
from services.billing.months import MonthWindow, local_midnight
from services.ledger import SessionRow
from services.ledger.pseudonyms import is_pseudonym

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


def login_needed(request: Request, err: Exception) -> Response:
    """A page asked for without a login: to the login form, and back afterwards."""
    return login_redirect(request)


def forbidden(request: Request, err: Exception) -> Response:
    """A page this login may not see: the message page, 403."""
    state: ApiState = request.app.state.api
    user = err.user if isinstance(err, PageForbiddenError) else None
    return render(request, state, "message.html", user, status_code=403, message_key="forbidden")


@router.get("/", response_class=HTMLResponse)
def home(user: PageUser) -> Response:
    """The floor for staff, one's own month for a member."""
    if user.role is Role.MEMBER and user.member:
        return RedirectResponse(f"/members/{user.member}/month", status_code=303)
    return RedirectResponse("/floor", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: StateDep, db: DbDep, next: str = "/") -> Response:
    """The login form; on a site nobody can log in to yet, a local visitor is offered /setup."""
    return render(
        request,
        state,
        "login.html",
        None,
        next=local_path(next),
        first_run=first_run_offered(request, state, db),
    )


RECENT_EVENTS = timedelta(hours=24)


@router.get("/floor", response_class=HTMLResponse)
def floor_page(request: Request, state: StateDep, db: DbDep, user: PageUser) -> Response:
    """The live floor: one tile per machine, updated by the SSE stream; staff see refusals."""
    since = state.clock() - RECENT_EVENTS
    staff = user.is_staff
    return render(
        request,
        state,
        "floor.html",
        user,
        floor=queries.floor_now(state, user),
        denied=queries.denied_badges(db, state.settings.site, since=since) if staff else [],
        unattributed=queries.unattributed_use(state) if staff else [],
        idle_amps=queries.idle_amps(state) if staff else {},
        names=state.machine_names(),
        photos=queries.photographed(state),
    )


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
    db: DbDep,
    user: PageUser,
    day: Annotated[Day | None, Query(alias="date")] = None,
) -> Response:
    """A machine's day: its sessions on a timeline (a member sees only their own)."""
    zone = ZoneInfo(state.settings.timezone)
    day = day or page_today(state)
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    wanted = queries.SessionFilter(
        machine=machine, since=start, until=end, member=None if user.is_staff else user.member
    )
    rows = list(queries.find_sessions(db, state.settings.site, wanted))
    tiles = {t.machine: t for t in queries.floor_now(state, user).machines}
    site = state.settings.site
    staff = user.is_staff
    return render(
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
        denied=queries.denied_badges(db, site, since=start, until=end, machine=machine)
        if staff
        else [],
        unattributed=[u for u in queries.unattributed_use(state) if u.machine == machine]
        if staff
        else [],
        names=state.machine_names(),
        member_names=queries.member_names(db) if staff else {},
        photo=queries.photographed(state).get(machine),
    )


@router.get("/members/{member}/month", response_class=HTMLResponse)
def member_month(
    request: Request,
    member: Id,
    state: StateDep,
    db: DbDep,
    user: MemberPage,
    month: Annotated[MonthText | None, Query()] = None,
) -> Response:
    """A member's month: sessions, minutes and energy so far, and statements."""
    row = queries.member(db, member)
    if row is None:
        return render(
            request, state, "message.html", user, status_code=404, message_key="not_found"
        )
    zone = ZoneInfo(state.settings.timezone)
    billed = page_month(month, state)
    window = MonthWindow(billed, zone)
    start, end = window.start, window.end
    wanted = queries.SessionFilter(member=member, since=start, until=end)
    rows = list(queries.find_sessions(db, state.settings.site, wanted))
    usage = usage_by_day(db, state.settings.site, window, member=member)
    statements = queries.statements(state, billed, member)
    return render(
        request,
        state,
        "member_month.html",
        user,
        member=row,
        statements=statements,
        payments=queries.statement_payments(state, statements),
        costs_cents=queries.costs_so_far(state, billed, member),
        month=str(billed),
        month_label=formats.month_name(billed, language_of(request).value),
        previous_month=str(billed.previous()),
        next_month=str(billed.next()),
        rows=rows,
        running_min=sum(r.running_s for r in rows) / 60,
        energy_kwh=sum(r.energy_wh for r in rows) / 1000,
        since_iso=start.isoformat(),
        until_iso=end.isoformat(),
        usage_charts=usage_charts(usage, words(language_of(request))),
        names=state.machine_names(),
        member_names={row.id: row.name},
    )


@router.get("/members/by-pseudonym/{pseudonym}", response_class=HTMLResponse)
def member_by_pseudonym(
    request: Request, pseudonym: str, state: StateDep, db: DbDep, user: StaffPage
) -> Response:
    """Staff: from a dashboard's pseudonym to the member's month (where Grafana links to)."""
    key = state.settings.pseudonym_key
    found = (
        queries.members_of_pseudonym(db, pseudonym, key) if key and is_pseudonym(pseudonym) else []
    )
    if len(found) != 1:
        # None, or two members sharing one (the api's route names them).
        return render(
            request, state, "message.html", user, status_code=404, message_key="not_found"
        )
    return RedirectResponse(f"/members/{quote(found[0].id)}/month", status_code=303)


@router.get("/manage/members", response_class=HTMLResponse)
def manage_members(request: Request, state: StateDep, db: DbDep, user: StaffPage) -> Response:
    """Coordinators: the members, and a form to add one."""
    members = queries.members(db)
    today = page_today(state)
    current: dict[str, str | None] = {}
    for period in state.billing.ledger.plan_periods():  # by member and day: the last one counts
        if period.valid_from <= today:
            current[period.member] = period.plan
    return render(
        request,
        state,
        "manage_members.html",
        user,
        members=members,
        plans=sorted(state.billing.ledger.plans()),
        current_plans=current,
        today=today,
    )


@router.get("/manage/cards", response_class=HTMLResponse)
def manage_cards(request: Request, state: StateDep, db: DbDep, user: StaffPage) -> Response:
    """Coordinators: every card, and forms to add one by UID or by badging it."""
    cards = queries.site_cards(db, state.settings.site)
    members = queries.members(db, with_erased=False)
    machines = queries.machines(state)
    return render(
        request, state, "manage_cards.html", user, cards=cards, members=members, machines=machines
    )


@router.get("/manage/qualifications", response_class=HTMLResponse)
def manage_qualifications(
    request: Request, state: StateDep, db: DbDep, user: StaffPage
) -> Response:
    """Coordinators: who may use which machine, and forms to grant or withdraw."""
    qualifications = queries.qualifications(db, state.settings.site, by_machine=True)
    members = queries.members(db, with_erased=False)
    machines = queries.machines(state)
    return render(
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
    user: StaffPage,
    month: Annotated[MonthText | None, Query()] = None,
) -> Response:
    """Coordinators: a month's shared bills, and a form to enter one."""
    billed = page_month(month, state)
    return render(
        request,
        state,
        "manage_cost_pools.html",
        user,
        month=str(billed),
        month_label=formats.month_name(billed, language_of(request).value),
        previous_month=str(billed.previous()),
        next_month=str(billed.next()),
        pools=queries.pools(state, billed),
        machines=queries.machines(state),
    )
