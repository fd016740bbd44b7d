"""How the api answers an error: a table of rules, one row per exception type, registered in a loop.

A row says the status, and whether the error names a field (a 422 naming it, counted), is told
as it is (a 409 or 408 with its message), or hides behind a fixed message and is logged (a 503).
FastAPI picks the row of the closest class in the error's MRO, so a subclass's row wins over
its base's (`StatementStateError` is a 409 though every `BillingError` is otherwise a 503).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from services.api.accounts import AccountError
from services.api.errors import BrokerError, EnrolmentTimeoutError
from services.api.photos import PhotoContentError, PhotoTooLargeError, PhotoTypeError
from services.api.problems import public_problems
from services.api.state import ApiState
from services.api.web.access import LoginNeededError, PageForbiddenError
from services.api.web.pages import forbidden, login_needed
from services.billing.errors import (
    BillingError,
    BillingInputError,
    StatementStateError,
    UnallocatablePoolError,
)
from services.billing.fiscal import NotAFiscalDocumentError
from services.ledger import LedgerError, RegistryError
from services.ledger.reservations import BookingNotFoundError, BookingRefusedError
from services.webhooks.errors import TargetRefusedError

log = logging.getLogger(__name__)


class Answer(Enum):
    """What the body of an error's answer says."""

    FIELD = "the field the error names, and why (counted by field)"
    MESSAGE = "the error's own message"
    FIXED = "a fixed message; the error itself goes to the log"


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """One exception type and how the api answers it."""

    error: type[Exception]
    status: int
    answer: Answer
    message: str = ""  # FIXED: the body's text; `{err}` is the error's message


ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(RegistryError, 422, Answer.FIELD),
    ErrorRule(PhotoTooLargeError, 413, Answer.FIELD),
    ErrorRule(PhotoTypeError, 415, Answer.FIELD),
    ErrorRule(PhotoContentError, 422, Answer.FIELD),
    ErrorRule(AccountError, 422, Answer.FIELD),
    ErrorRule(TargetRefusedError, 422, Answer.FIELD),
    ErrorRule(BillingInputError, 422, Answer.FIELD),
    ErrorRule(StatementStateError, 409, Answer.MESSAGE),
    ErrorRule(BookingRefusedError, 409, Answer.MESSAGE),
    ErrorRule(BookingNotFoundError, 404, Answer.MESSAGE),
    ErrorRule(NotAFiscalDocumentError, 404, Answer.MESSAGE),
    ErrorRule(UnallocatablePoolError, 409, Answer.MESSAGE),
    ErrorRule(EnrolmentTimeoutError, 408, Answer.MESSAGE),
    ErrorRule(BillingError, 503, Answer.FIXED, "billing is unavailable; try again"),
    ErrorRule(LedgerError, 503, Answer.FIXED, "the ledger is unavailable; try again"),
    ErrorRule(BrokerError, 503, Answer.FIXED, "the broker is unavailable: {err}"),
)

PageHandler = Callable[[Request, Exception], Response]

# Pages answer a refusal as a page does: a redirect to the login form, or the 403 page.
PAGE_RULES: tuple[tuple[type[Exception], PageHandler], ...] = (
    (LoginNeededError, login_needed),
    (PageForbiddenError, forbidden),
)


def _counted(request: Request, field: str) -> None:
    api: ApiState | None = getattr(request.app.state, "api", None)
    if api is not None:
        api.rejections.count(field)


def _field_error(field: str, message: str) -> list[dict[str, object]]:
    return [{"loc": ["body", field], "msg": message, "type": "value_error"}]


def answer(rule: ErrorRule, request: Request, err: Exception) -> Response:
    """The response a rule gives for an error."""
    if rule.answer is Answer.FIELD:
        field = str(getattr(err, "field", "(request)"))
        _counted(request, field)
        return JSONResponse({"detail": _field_error(field, str(err))}, status_code=rule.status)
    if rule.answer is Answer.MESSAGE:
        return JSONResponse({"detail": str(err)}, status_code=rule.status)
    log.error("%s on %s %s: %s", type(err).__name__, request.method, request.url.path, err)
    return JSONResponse({"detail": rule.message.format(err=err)}, status_code=rule.status)


def _json_handler(rule: ErrorRule) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, err: Exception) -> Response:
        return answer(rule, request, err)

    return handle


def _page_handler(page: PageHandler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, err: Exception) -> Response:
        return page(request, err)

    return handle


async def _invalid_request(request: Request, err: Exception) -> Response:
    """A 422 naming every field at fault (each counted), never echoing the input."""
    assert isinstance(err, RequestValidationError)
    for problem in err.errors():
        _counted(request, ".".join(str(p) for p in problem.get("loc", ())) or "(request)")
    # Never the input back: a 100 MB body came back whole, and a password would too.
    return JSONResponse({"detail": public_problems(err.errors())}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Register every rule of the table, the pages' refusals and the counted 422."""
    for rule in ERROR_RULES:
        app.add_exception_handler(rule.error, _json_handler(rule))
    for error, page in PAGE_RULES:
        app.add_exception_handler(error, _page_handler(page))
    app.add_exception_handler(RequestValidationError, _invalid_request)
