"""What every page module shares: the templates, the page's formats, the month a page shows.

Each area of the pages (the floor and members in `pages`, the registry, billing, first run,
charts) is a router of its own; they all render through `render` and pick their month through
`page_month`, so a page reads the same wherever it lives.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, get_currency_symbol
from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from services.api.deps import Principal
from services.api.security import csrf_for
from services.api.state import ApiState
from services.api.web.i18n import LANG_COOKIE, Lang, language_of, words
from services.billing import formats
from services.billing.errors import BillingError, BillingInputError
from services.billing.months import Month

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")

_DateTime = datetime
_Date = date


class Formats:
    """Dates, times and numbers in the page's language and the workshop's zone."""

    def __init__(self, lang: Lang, zone: ZoneInfo, currency: str) -> None:
        self.lang = lang.value
        self.zone = zone
        self.currency = currency

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
        """An amount in the workshop's currency, as billing writes it on statements."""
        return formats.money(cents, self.currency, self.lang)

    def currency_symbol(self) -> str:
        """The workshop currency's symbol in the page's language (`€`, `CHF`)."""
        return get_currency_symbol(self.currency, locale=self.lang)


def render(
    request: Request,
    state: ApiState,
    template: str,
    user: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A template in the request's language, with the login, its CSRF token and the formats."""
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
            "fmt": Formats(lang, zone, state.settings.billing.currency),
            "site": state.settings.site,
            "path": request.url.path,
            # The manage pages mark how many consumables are low, for a coordinator to restock.
            "low_stock": _low_stock(state, user),
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in {lang.value for lang in Lang}:
        response.set_cookie(LANG_COOKIE, lang.value, max_age=365 * 86400, samesite="lax")
    return response


def _low_stock(state: ApiState, user: Principal | None) -> int:
    if user is None or not user.is_staff:
        return 0
    try:
        return len(state.billing.ledger.low_stock())
    except BillingError:  # the mark is a hint: a page still renders without it
        log.warning("low stock could not be read for the pages' mark")
        return 0


def page_today(state: ApiState) -> date:
    """The day the pages open on: the settings' `pages_as_of`, else the api clock's today there."""
    if state.settings.pages_as_of is not None:
        return state.settings.pages_as_of
    return state.clock().astimezone(ZoneInfo(state.settings.timezone)).date()


def page_month(text: str | None, state: ApiState) -> Month:
    """The month a page asks for; the pages' current month when none is given or unshowable."""
    this_month = Month.of(page_today(state))
    if text is None:
        return this_month
    try:
        month = Month.parse(text)
        month.next()  # a month the page can link onwards from
    except BillingInputError:
        return this_month
    return month
