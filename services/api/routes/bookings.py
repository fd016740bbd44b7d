"""`/bookings`: slots of machines kept for members; each change goes to the machine's gateway."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from services.api.calendar import calendar_token, feed, token_matches
from services.api.deps import PersonUser, StateDep
from services.api.schemas.bookings import BookingCreate, BookingPublic
from services.api.schemas.common import Id, Instant, RowId
from services.ledger import RegistryError
from services.ledger.reservations import BookingStatus

router = APIRouter(prefix="/bookings", tags=["bookings"])

# What a list shows when no span is asked for: from a day ago to the longest horizon ahead.
DEFAULT_BACK = timedelta(days=1)
DEFAULT_AHEAD = timedelta(days=62)
REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused by the machine's rules; `detail` says why (overlap, closed…)"},
}


@router.get("", responses={403: {"description": "Another member's bookings"}})
def list_bookings(
    user: PersonUser,
    state: StateDep,
    machine: Annotated[Id | None, Query()] = None,
    member: Annotated[Id | None, Query()] = None,
    start: Annotated[Instant | None, Query()] = None,
    end: Annotated[Instant | None, Query()] = None,
) -> list[BookingPublic]:
    """Bookings made (not cancelled) overlapping a span; a member sees only her own."""
    if not user.is_staff:
        member = member or user.member
    if member is not None:
        user.check_member(member)
    now = state.clock()
    rows = state.reservations.between(
        site=state.settings.site,
        machine=machine,
        member=member,
        start=start or now - DEFAULT_BACK,
        end=end or now + DEFAULT_AHEAD,
        statuses=tuple(BookingStatus),
    )
    return [BookingPublic.model_validate(b) for b in rows]


@router.post("", status_code=201, responses=REFUSED)
def make_booking(body: BookingCreate, user: PersonUser, state: StateDep) -> BookingPublic:
    """Book a slot: a member for herself, staff for anyone; the gateway knows within moments."""
    member = body.member or user.member
    if member is None:
        raise RegistryError("member", "staff book for a member: name her")
    user.check_member(member)
    booking = state.reservations.book(
        site=state.settings.site,
        machine=body.machine,
        member=member,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        by=user.username,
    )
    state.bookings.machine_changed(body.machine)
    return BookingPublic.model_validate(booking)


@router.delete("/{booking}", responses={**REFUSED, 404: {"description": "No such booking"}})
def cancel_booking(
    booking: Annotated[RowId, Path()], user: PersonUser, state: StateDep
) -> BookingPublic:
    """Cancel a booking: a member her own, with the machine's notice; staff any, at any time."""
    held = state.reservations.get(booking)
    user.check_member(held.member)
    cancelled = state.reservations.cancel(booking, by=user.username, staff=user.is_staff)
    state.bookings.machine_changed(cancelled.machine)
    return BookingPublic.model_validate(cancelled)


CALENDAR = "text/calendar; charset=utf-8"
ICS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed (RFC 5545)"}
}


@router.get("/calendar-token")
def my_calendar_token(user: PersonUser, state: StateDep) -> dict[str, str]:
    """The path of the caller's own feed, for a calendar app to subscribe to."""
    if user.member is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="this login is no member's")
    token = calendar_token(user.member, state.settings.secret)
    return {"path": f"/api/v1/bookings/members/{user.member}/{token}.ics"}


@router.get(
    "/members/{member}/{token}.ics",
    response_class=Response,
    responses={**ICS, 404: {"description": "No such feed"}},
)
def member_feed(
    member: Annotated[Id, Path()],
    token: Annotated[str, Path(pattern="^[0-9a-f]{32}$")],
    state: StateDep,
) -> Response:
    """A member's bookings as a calendar feed, reached with her token instead of a login."""
    if not token_matches(member, token, state.settings.secret):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such feed")
    now = state.clock()
    rows = state.reservations.between(
        site=state.settings.site, member=member, start=now - DEFAULT_AHEAD, end=now + DEFAULT_AHEAD
    )
    body = feed(member, rows, site=state.settings.site, summary="{machine}", now=now)
    return Response(body, media_type=CALENDAR)


@router.get("/machines/{machine}.ics", response_class=Response, responses=ICS)
def machine_feed(machine: Annotated[Id, Path()], user: PersonUser, state: StateDep) -> Response:
    """A machine's bookings as a calendar feed; members are named only to staff."""
    now = state.clock()
    rows = state.reservations.between(
        site=state.settings.site, machine=machine, start=now - DEFAULT_BACK, end=now + DEFAULT_AHEAD
    )
    summary = "{machine}: {member}" if user.is_staff else "{machine}"
    body = feed(machine, rows, site=state.settings.site, summary=summary, now=now)
    return Response(body, media_type=CALENDAR)
