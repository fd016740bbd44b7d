"""`/payments`: bank files imported, credits matched or waiting, assigned by a coordinator."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, HTTPException, Path, Query, UploadFile, status
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from services.api import queries
from services.api.deps import StaffUser, StateDep
from services.api.routes.statements import attachment
from services.api.schemas.billing import MonthText
from services.api.schemas.payments import PaymentAssign, PaymentImportPublic, PaymentPublic
from services.billing.bank_files import BankFileError
from services.billing.exports import payments_csv
from services.billing.months import Month
from services.billing.payments import MAX_BANK_FILE_BYTES, import_bank_file

router = APIRouter(prefix="/payments", tags=["payments"])

PaymentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The payment's id")]


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded file's bytes, refused (413) beyond what a bank file may weigh."""
    data = await file.read(MAX_BANK_FILE_BYTES + 1)
    if len(data) > MAX_BANK_FILE_BYTES:
        raise BankFileError("file", f"larger than {MAX_BANK_FILE_BYTES} bytes")
    if not data:
        raise BankFileError("file", "empty")
    return data


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "A bank file refused whole, naming the element or line"}},
)
async def import_payments(
    file: Annotated[UploadFile, File(description="A CAMT.053 XML or the bank's CSV")],
    staff: StaffUser,
    state: StateDep,
) -> PaymentImportPublic:
    """Book a bank file's credits, each matched to an issued statement where one fits."""
    data = await read_upload(file)
    done = await run_in_threadpool(import_bank_file, state.billing, data)
    return PaymentImportPublic(
        kind=done.kind,
        credits=done.credits,
        credited_cents=done.credited_cents,
        added=done.result.added,
        matched=done.result.matched,
        already_booked=done.result.already,
    )


@router.get("")
def list_payments(
    staff: StaffUser,
    state: StateDep,
    which: Annotated[Literal["all", "unmatched", "matched"], Query()] = "all",
) -> list[PaymentPublic]:
    """Booked payments, newest first: all, those waiting for a coordinator, or those settled."""
    unmatched = {"all": None, "unmatched": True, "matched": False}[which]
    return [queries.payment_public(p) for p in queries.payments(state, unmatched=unmatched)]


@router.get(
    "/export/{month}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "Payments booked in a month"}},
)
def export_payments(
    month: Annotated[MonthText, PathParam(description="A month, YYYY-MM")],
    staff: StaffUser,
    state: StateDep,
    lang: Annotated[Literal["it", "en"] | None, Query()] = None,
) -> Response:
    """The payments booked in a month, matched or waiting, for the accountant (CSV)."""
    booked = Month.parse(month)
    payments = state.billing.ledger.payments(
        limit=None, booked_from=booked.first_day, booked_before=booked.next().first_day
    )
    text = payments_csv(reversed(payments), lang or state.billing.settings.locale)
    return attachment(text, "text/csv; charset=utf-8", f"payments-{month}.csv")


@router.post(
    "/{payment_id}/assign",
    responses={
        404: {"description": "No such payment"},
        409: {"description": "The payment is settled already"},
    },
)
def assign_payment(
    payment_id: PaymentId, body: PaymentAssign, staff: StaffUser, state: StateDep
) -> PaymentPublic:
    """Give a waiting payment to an issued statement, or mark it as not the workshop's."""
    if queries.payment(state, payment_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no payment {payment_id}")
    state.billing.ledger.assign_payment(payment_id, body.statement_id, by=staff.username)
    payment = queries.payment(state, payment_id)
    assert payment is not None  # payments are never deleted
    return queries.payment_public(payment)
