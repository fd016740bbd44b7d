"""The bookings pages: a machine's week, a member's own bookings, and the coordinators' list.

`/machines/{machine}/bookings` shows a week of the machine's slots, free or taken, with a button
to book each free one (a member for herself, a coordinator for a member she names) and, for
coordinators, the machine's booking rules. `/members/{member}/bookings` is a member's coming
bookings with cancel and her calendar-feed link; `/manage/bookings` is every machine's coming
bookings, for a coordinator to cancel any. A refusal is a page that says the reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.api import queries
from services.api.booking_rules import drop_rules, save_rules
from services.api.calendar import calendar_token
from services.api.deps import Principal, StateDep
from services.api.schemas.bookings import BookingRulesSave
from services.api.schemas.common import Id
from services.api.state import ApiState
from services.api.web.access import MemberPage, PageUser, StaffPage
from services.api.web.pages_billing import RefusedError, _act, _back, _refused
from services.api.web.render import page_today, render
from services.ledger.reservations import (
    Booking,
    BookingNotFoundError,
    BookingRefusedError,
    BookingRules,
)

router = APIRouter(include_in_schema=False)

BookingId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The booking's id")]
MANAGE = "/manage/bookings"
DONE = frozenset({"booked", "cancelled", "rules_saved", "rules_dropped"})
AHEAD = timedelta(days=62)
RULE_NUMBERS = (
    "slot_minutes",
    "horizon_days",
    "max_open",
    "grace_minutes",
    "notice_minutes",
    "warn_before_minutes",
)
MAX_NUMBER_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Slot:
    """One slot of a machine's week as the page shows it."""

    starts_at: datetime
    ends_at: datetime
    state: str  # free, taken, yours, past
    booking: Booking | None


@dataclass(frozen=True, slots=True)
class Day:
    """One day of the week and its slots."""

    day: date
    slots: tuple[Slot, ...]


def _done(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in DONE else None


def _week_of(request: Request, state: ApiState) -> date:
    """The Monday of the week asked for (`?date=` any day of it), else of today."""
    text = request.query_params.get("date", "")
    try:
        day = date.fromisoformat(text) if len(text) == 10 else page_today(state)
    except ValueError:
        day = page_today(state)
    if not date(2000, 1, 8) <= day <= date(2999, 12, 24):
        day = page_today(state)
    return day - timedelta(days=day.weekday())


def _week(
    state: ApiState, rules: BookingRules, monday: date, user: Principal
) -> tuple[list[Day], list[Booking]]:
    zone = ZoneInfo(state.settings.timezone)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = start + timedelta(days=8)
    held = state.reservations.between(
        site=state.settings.site, machine=rules.machine, start=start, end=end
    )
    now = state.clock()
    days: list[Day] = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        slots: list[Slot] = []
        for lo, hi in rules.slots(day, zone):
            booking = next((b for b in held if b.starts_at < hi and b.ends_at > lo), None)
            if booking is not None:
                mine = booking.member == user.member
                slots.append(Slot(lo, hi, "yours" if mine else "taken", booking))
            else:
                slots.append(Slot(lo, hi, "past" if lo < now else "free", None))
        days.append(Day(day, tuple(slots)))
    return days, held


def _rules_form(form: dict[str, str]) -> BookingRulesSave:
    """The rules of the posted form; a bad value is refused naming its field."""
    values: dict[str, object] = {}
    for name in RULE_NUMBERS:
        text = form.get(name, "").strip()
        if not text:
            continue
        digits = text.removeprefix("-")
        if not digits.isdigit() or len(digits) > MAX_NUMBER_DIGITS:
            raise RefusedError(422, name, "a whole number")
        values[name] = int(text)
    values["qualified_only"] = form.get("qualified_only", "") in {"on", "true", "1"}
    values["plans"] = form.get("plans", "").split()
    values["hours"] = form.get("hours", "")
    values["closures"] = form.get("closures", "")
    try:
        return BookingRulesSave.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "rules"
        raise RefusedError(422, field, first["msg"]) from err


def _refusal(
    request: Request, state: ApiState, user: Principal, err: BookingRefusedError, back: str
) -> Response:
    """A booking refused: the reason in words, and the rule's own sentence."""
    state.rejections.count("booking")
    return render(
        request,
        state,
        "booking_refused.html",
        user,
        status_code=409,
        reason=err.reason.value,
        detail=err.detail,
        back=back,
    )


def _instant(form: dict[str, str], field: str) -> datetime:
    text = form.get(field, "").strip()
    try:
        moment = datetime.fromisoformat(text) if 0 < len(text) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not 2000 <= moment.year <= 2999:
        raise RefusedError(422, field, "a date and time with its offset")
    return moment.astimezone(UTC)


@router.get("/machines/{machine}/bookings", response_class=HTMLResponse)
def machine_week(request: Request, machine: Id, state: StateDep, user: PageUser) -> Response:
    """A machine's week: free and taken slots, a button to book each free one; staff its rules."""
    if queries.machine(state, machine) is None:
        return _refused(request, state, user, RefusedError(404, "machine", f"no machine {machine}"))
    rules = state.reservations.rules(state.settings.site, machine)
    monday = _week_of(request, state)
    days, _ = ([], []) if rules is None else _week(state, rules, monday, user)
    return render(
        request,
        state,
        "machine_bookings.html",
        user,
        machine=machine,
        name=state.machine_names().get(machine, machine),
        rules=rules,
        days=days,
        monday=monday,
        previous=(monday - timedelta(days=7)).isoformat(),
        following=(monday + timedelta(days=7)).isoformat(),
        done=_done(request),
    )


@router.post("/machines/{machine}/bookings", response_class=HTMLResponse)
async def book_slot(request: Request, machine: Id, state: StateDep, user: PageUser) -> Response:
    """Book a slot: a member for herself, a coordinator for the member she names."""
    back = f"/machines/{machine}/bookings"

    def action(form: dict[str, str]) -> Response:
        starts_at, ends_at = _instant(form, "starts_at"), _instant(form, "ends_at")
        named = form.get("member", "").strip()
        member = (named or None) if user.is_staff else user.member
        if member is None:
            field = "member" if user.is_staff else "login"
            raise RefusedError(422 if user.is_staff else 403, field, "name the member it is for")
        try:
            booking = state.reservations.book(
                site=state.settings.site,
                machine=machine,
                member=member,
                starts_at=starts_at,
                ends_at=ends_at,
                by=user.username,
            )
        except BookingRefusedError as err:
            return _refusal(request, state, user, err, back)
        state.bookings.machine_changed(machine)
        day = booking.starts_at.astimezone(ZoneInfo(state.settings.timezone)).date()
        return _back(f"{back}?date={day.isoformat()}", "booked")

    return await _act(request, state, user, action)


@router.post("/machines/{machine}/booking-rules", response_class=HTMLResponse)
async def set_rules(request: Request, machine: Id, state: StateDep, user: StaffPage) -> Response:
    """Coordinators: make the machine bookable under these rules, or change them."""

    def action(form: dict[str, str]) -> Response:
        if queries.machine(state, machine) is None:
            raise RefusedError(404, "machine", f"no machine {machine}")
        save_rules(state, machine, _rules_form(form))
        return _back(f"/machines/{machine}/bookings", "rules_saved")

    return await _act(request, state, user, action)


@router.post("/machines/{machine}/booking-rules/drop", response_class=HTMLResponse)
async def unset_rules(request: Request, machine: Id, state: StateDep, user: StaffPage) -> Response:
    """Coordinators: the machine cannot be booked any more."""

    def action(form: dict[str, str]) -> Response:
        if not drop_rules(state, machine):
            raise RefusedError(404, "machine", f"{machine} cannot be booked")
        return _back(f"/machines/{machine}/bookings", "rules_dropped")

    return await _act(request, state, user, action)


@router.get("/members/{member}/bookings", response_class=HTMLResponse)
def member_bookings(request: Request, member: Id, state: StateDep, user: MemberPage) -> Response:
    """A member's coming bookings with cancel, her calendar feed, and the bookable machines."""
    now = state.clock()
    site = state.settings.site
    feed = None
    if user.member == member:
        token = calendar_token(member, state.settings.secret)
        feed = f"/api/v1/bookings/members/{member}/{token}.ics"
    return render(
        request,
        state,
        "member_bookings.html",
        user,
        member=member,
        bookings=state.reservations.between(site=site, member=member, start=now, end=now + AHEAD),
        bookable=[r.machine for r in state.reservations.all_rules(site)],
        names=state.machine_names(),
        feed=feed,
        done=_done(request),
    )


@router.get(MANAGE, response_class=HTMLResponse)
def manage_bookings(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Coordinators: every machine's coming bookings, to cancel any."""
    now = state.clock()
    site = state.settings.site
    return render(
        request,
        state,
        "manage_bookings.html",
        user,
        bookings=state.reservations.between(site=site, start=now, end=now + AHEAD),
        bookable=[r.machine for r in state.reservations.all_rules(site)],
        names=state.machine_names(),
        done=_done(request),
    )


@router.post("/bookings/{booking_id}/cancel", response_class=HTMLResponse)
async def cancel_booking(
    request: Request, booking_id: BookingId, state: StateDep, user: PageUser
) -> Response:
    """Cancel a booking: a member her own with the machine's notice, a coordinator any."""

    def action(form: dict[str, str]) -> Response:
        back = MANAGE if user.is_staff and form.get("back") == "manage" else None
        try:
            held = state.reservations.get(booking_id)
        except BookingNotFoundError as err:
            raise RefusedError(404, "booking", str(err)) from err
        if not (user.is_staff or held.member == user.member):
            raise RefusedError(403, "booking", "another member's booking")
        back = back or f"/members/{held.member}/bookings"
        try:
            state.reservations.cancel(booking_id, by=user.username, staff=user.is_staff)
        except BookingRefusedError as err:
            return _refusal(request, state, user, err, back)
        state.bookings.machine_changed(held.machine)
        return _back(back, "cancelled")

    return await _act(request, state, user, action)
