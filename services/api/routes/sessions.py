"""`/sessions`: booked sessions filtered by member, machine and period; JSON or CSV.

The CSV is written as a spreadsheet in the reader's language opens it (the pages' language:
`?lang=`, the language cookie, then the browser's), times in the site's zone with their offset
and energy in kWh.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response

from services.api.deps import DbDep, PersonUser, StateDep
from services.api.queries import SessionFilter, find_sessions
from services.api.schemas.common import Id, Instant
from services.api.schemas.sessions import SessionPublic
from services.api.web.i18n import language_of
from services.billing.csv_locale import CsvLocale, csv_locale

router = APIRouter(prefix="/sessions", tags=["sessions"])

MAX_ROWS = 10_000
CSV_COLUMNS = (
    "id",
    "machine",
    "member",
    "started",
    "ended",
    "unlocked_s",
    "running_s",
    "idle_s",
    "energy_kwh",
    "end_reason",
    "clock_ok",
)


def session_filter(
    user: PersonUser,
    member: Annotated[Id | None, Query(description="Only this member's sessions")] = None,
    machine: Annotated[Id | None, Query(description="Only this machine's sessions")] = None,
    since: Annotated[Instant | None, Query(description="Started at or after")] = None,
    until: Annotated[Instant | None, Query(description="Started before")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 1000,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SessionFilter:
    """The filter from the query; a member is held to their own sessions (403 for others')."""
    if not user.is_staff:
        member = member or user.member
    if member is not None:
        user.check_member(member)
    if since is not None and until is not None and until < since:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="until: before since")
    return SessionFilter(
        member=member, machine=machine, since=since, until=until, limit=limit, offset=offset
    )


FilterDep = Annotated[SessionFilter, Depends(session_filter)]


@router.get("", responses={403: {"description": "Another member's sessions"}})
def list_sessions(wanted: FilterDep, state: StateDep, db: DbDep) -> list[SessionPublic]:
    """Booked sessions, oldest first."""
    rows = find_sessions(db, state.settings.site, wanted)
    return [SessionPublic.model_validate(r) for r in rows]


def _csv_row(session: SessionPublic, style: CsvLocale, zone: ZoneInfo) -> Sequence[object]:
    return (
        session.id,
        session.machine,
        session.member,
        _local(session.started, zone),
        _local(session.ended, zone),
        style.ratio(session.unlocked_s, 1, 3),
        style.ratio(session.running_s, 1, 3),
        style.ratio(session.idle_s, 1, 3),
        style.ratio(session.energy_wh, 1000, 6),
        session.end_reason,
        "true" if session.clock_ok else "false",
    )


def _local(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat()


@router.get(
    ".csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per session"},
        403: {"description": "Another member's sessions"},
    },
)
def export_sessions(request: Request, wanted: FilterDep, state: StateDep, db: DbDep) -> Response:
    """The same sessions as CSV, for a spreadsheet in the reader's language."""
    style = csv_locale(language_of(request).value)
    zone = ZoneInfo(state.settings.timezone)
    rows = [
        _csv_row(SessionPublic.model_validate(row), style, zone)
        for row in find_sessions(db, state.settings.site, wanted)
    ]
    return Response(
        style.table(CSV_COLUMNS, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sessions.csv"'},
    )
