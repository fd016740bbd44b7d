"""Usage over the month, drawn on the server: hours per day and kWh, for machines and members."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.api import queries
from services.api.deps import DbDep, StateDep
from services.api.schemas.common import Id, MonthText
from services.api.usage_days import MonthUsage, usage_by_day
from services.api.web.access import PageUser
from services.api.web.charts import BarChart, Series, day_labels, in_hours, in_kwh
from services.api.web.i18n import language_of, words
from services.api.web.render import page_month, render
from services.billing import formats
from services.billing.months import MonthWindow

router = APIRouter(include_in_schema=False)


def usage_charts(usage: MonthUsage, t: Mapping[str, str]) -> tuple[BarChart, BarChart]:
    """A month's usage as two charts: hours per day (running, unlocked) and kWh per day."""
    labels = day_labels(len(usage.days))
    hours = BarChart(
        slug="chart-hours",
        title=t["charts.hours"],
        description=t["charts.hours_desc"],
        unit="h",
        label_heading=t["charts.day"],
        labels=labels,
        series=(
            Series("running", t["charts.running"], in_hours([d.running_s for d in usage.days])),
            Series("unlocked", t["charts.unlocked"], in_hours([d.unlocked_s for d in usage.days])),
        ),
    )
    energy = BarChart(
        slug="chart-energy",
        title=t["charts.energy"],
        description=t["charts.energy_desc"],
        unit="kWh",
        label_heading=t["charts.day"],
        labels=labels,
        places=2,  # ten Wh
        series=(
            Series("energy", t["charts.energy_series"], in_kwh([d.energy_wh for d in usage.days])),
        ),
    )
    return hours, energy


@router.get("/machines/{machine}/month", response_class=HTMLResponse)
def machine_month(
    request: Request,
    machine: Id,
    state: StateDep,
    db: DbDep,
    user: PageUser,
    month: Annotated[MonthText | None, Query()] = None,
) -> Response:
    """A machine's month: hours and kWh per day (a member sees only their own sessions)."""
    billed = page_month(month, state)
    window = MonthWindow(billed, ZoneInfo(state.settings.timezone))
    # A member's login sees only its own sessions; one naming no member matches none.
    own = None if user.is_staff else (user.member or "")
    usage = usage_by_day(db, state.settings.site, window, machine=machine, member=own)
    registered = queries.machine(state, machine)
    lang = language_of(request)
    return render(
        request,
        state,
        "machine_month.html",
        user,
        machine=machine,
        machine_name=registered.name if registered is not None and registered.name else machine,
        only_own=not user.is_staff,
        month=str(billed),
        month_label=formats.month_name(billed, lang.value),
        previous_month=str(billed.previous()),
        next_month=str(billed.next()),
        first_day=billed.first_day,
        usage=usage,
        usage_charts=usage_charts(usage, words(lang)),
    )
