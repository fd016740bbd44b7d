"""`/sessions`: booked sessions filtered by member, machine and period; JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import Response

from services.api.deps import DbDep, PersonUser, StateDep
from services.api.queries import SessionFilter, find_sessions
from services.api.schemas.common import Id, Instant
from services.api.schemas.sessions import SessionPublic

router = APIRouter(prefix="/sessions", tags=["sessions"])

MAX_ROWS = 10_000
CSV_FIELDS = tuple(SessionPublic.model_fields)


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


def _csv_cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@router.get(
    ".csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per session"},
        403: {"description": "Another member's sessions"},
    },
)
def export_sessions(wanted: FilterDep, state: StateDep, db: DbDep) -> Response:
    """The same sessions as CSV, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for row in find_sessions(db, state.settings.site, wanted):
        public = SessionPublic.model_validate(row)
        writer.writerow([_csv_cell(getattr(public, f)) for f in CSV_FIELDS])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sessions.csv"'},
    )
