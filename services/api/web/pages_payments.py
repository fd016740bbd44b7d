"""The treasurer's payments page: a bank file uploaded, credits waiting, credits matched.

`/manage/payments` uploads a CAMT.053 or CSV bank statement (a multipart form carrying the
page's CSRF value), lists the credits no statement fits with a form to assign each one by
statement number or mark it as not the workshop's, and the payments matched lately. A refused
file is a page naming the element or line at fault; nothing of it is booked.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from services.api import queries
from services.api.deps import CSRF_HEADER, Principal, StateDep
from services.api.security import csrf_for
from services.api.state import ApiState
from services.api.web.access import StaffPage
from services.api.web.pages_billing import RefusedError, _act, _back, _refused
from services.api.web.render import render
from services.billing.errors import BillingInputError
from services.billing.payments import MAX_BANK_FILE_BYTES, import_bank_file

router = APIRouter(include_in_schema=False)

PaymentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The payment's id")]
PAGE = "/manage/payments"
DONE = frozenset({"imported", "assigned"})
RECENT = 50


@router.get(PAGE, response_class=HTMLResponse)
def manage_payments(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Staff: upload a bank statement, assign what is waiting, see what was matched lately."""
    done = request.query_params.get("done")
    return render(
        request,
        state,
        "manage_payments.html",
        user,
        unmatched=queries.payments(state, unmatched=True),
        matched=queries.payments(state, unmatched=False, limit=RECENT),
        done=done if done in DONE else None,
    )


async def _uploaded(request: Request, state: ApiState, user: Principal) -> bytes:
    """The bank file of a multipart form, once the form's CSRF value is the page's."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise RefusedError(415, "file", "send the bank file as a multipart form")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except HTTPException as err:
        raise RefusedError(400, "form", "not a form the page sends") from err
    sent = form.get("csrf") or request.headers.get(CSRF_HEADER) or ""
    expected = csrf_for(user.token, state.settings.secret)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise RefusedError(403, "csrf", "missing or wrong: reload the page and try again")
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise RefusedError(422, "file", "choose a bank statement to import")
    data = await file.read(MAX_BANK_FILE_BYTES + 1)
    if len(data) > MAX_BANK_FILE_BYTES:
        raise RefusedError(413, "file", f"larger than {MAX_BANK_FILE_BYTES} bytes")
    if not data:
        raise RefusedError(422, "file", "empty")
    return data


@router.post(f"{PAGE}/import", response_class=HTMLResponse)
async def import_payments(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Staff: book an uploaded bank file's credits, or name where it is wrong."""
    try:
        data = await _uploaded(request, state, user)
        await run_in_threadpool(import_bank_file, state.billing, data)
    except RefusedError as err:
        return _refused(request, state, user, err)
    except BillingInputError as err:
        return _refused(request, state, user, RefusedError(422, err.field, err.reason))
    return _back(PAGE, "imported")


@router.post(PAGE + "/{payment_id}/assign", response_class=HTMLResponse)
async def assign_payment(
    request: Request, payment_id: PaymentId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: give a waiting payment to a statement by its number, or mark it as not ours."""

    def action(form: dict[str, str]) -> Response:
        ledger = state.billing.ledger
        if queries.payment(state, payment_id) is None:
            raise RefusedError(404, "payment", f"there is no payment {payment_id}")
        number = form.get("number", "").strip()
        if form.get("not_ours"):
            ledger.assign_payment(payment_id, None, by=user.username)
        elif number:
            ledger.assign_payment(payment_id, ledger.statement(number).id, by=user.username)
        else:
            raise RefusedError(422, "number", "give the statement's number, or mark it not ours")
        return _back(PAGE, "assigned")

    return await _act(request, state, user, action)
