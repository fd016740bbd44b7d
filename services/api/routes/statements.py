"""`/statements`: drafts, issue, credit notes, PDFs and FatturaPA files; a member reaches only
their own. Staff also take a month's SdI bundle and the accountant's register."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from services.api import queries
from services.api.deps import AdminUser, PersonUser, Principal, StaffUser, StateDep
from services.api.schemas.billing import (
    CreditNoteCreate,
    DraftsPublic,
    IssuedPublic,
    MonthRequest,
    MonthText,
    StatementPublic,
)
from services.api.schemas.common import Id
from services.api.state import ApiState
from services.billing.money import parse_cents, parse_vat_bp
from services.billing.months import Month
from services.billing.payments import StatementPayment
from services.billing.records import StoredStatement
from services.billing.register import register_csv, register_json
from services.fiscal import Locale

router = APIRouter(prefix="/statements", tags=["statements"])

StatementId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The statement's id")]
MonthPath = Annotated[MonthText, Path(description="A month, YYYY-MM")]
XML = "application/xml"
ZIP = "application/zip"


def attachment(data: bytes | str, media_type: str, name: str) -> Response:
    """A download, named; every answer of the api is `no-store` already (the middleware)."""
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def statement_public(
    statement: StoredStatement, payment: StatementPayment | None = None
) -> StatementPublic:
    """A statement's header and totals, and what was paid on it if it is issued."""
    return StatementPublic(
        id=statement.id,
        kind=statement.kind.value,
        status=statement.status.value,
        member=statement.member,
        member_name=statement.member_name,
        month=statement.month,
        party_id=statement.party_id,
        party_label=statement.party_label,
        number=statement.number,
        credits_number=statement.credits_number,
        reason=statement.reason,
        currency=statement.currency,
        net_cents=statement.net_cents,
        vat_cents=statement.vat_cents,
        total_cents=statement.total_cents,
        made_at=statement.made_at,
        issued_at=statement.issued_at,
        lines=len(statement.lines),
        paid_cents=payment.paid_cents if payment else None,
        due=payment.due if payment else None,
        payment_state=payment.state.value if payment else None,
    )


def with_payments(state: ApiState, statements: list[StoredStatement]) -> list[StatementPublic]:
    """Statements as the api shows them, each issued one with its payments."""
    paid = queries.statement_payments(state, statements)
    return [statement_public(s, paid.get(s.id)) for s in statements]


def stored_statement(state: ApiState, statement_id: int, user: Principal) -> StoredStatement:
    """A statement by id, if this login may see it (403) and it exists (404)."""
    statement = queries.statement(state, statement_id)
    if statement is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no statement {statement_id}")
    user.check_member(statement.member)
    return statement


@router.get("", responses={403: {"description": "Another member's statements"}})
def list_statements(
    user: PersonUser,
    state: StateDep,
    month: Annotated[MonthText, Query()],
    member: Annotated[Id | None, Query()] = None,
) -> list[StatementPublic]:
    """A month's statements and credit notes; a member sees only their own."""
    if not user.is_staff:
        member = member or user.member
    if member is not None:
        user.check_member(member)
    return with_payments(state, queries.statements(state, Month.parse(month), member))


@router.post(
    "/drafts",
    responses={409: {"description": "A later issued statement drew from the same packs"}},
)
def make_drafts(body: MonthRequest, staff: StaffUser, state: StateDep) -> DraftsPublic:
    """Compute the month from the ledger and replace its drafts; issued statements stay.

    When the month now draws from packs differently, the later months' drafts that drew from
    the same packs are made again (named in `later_drafts`); a later issued one refuses (409).
    """
    result = state.billing.make_drafts(Month.parse(body.month), by=staff.username)
    return DraftsPublic(
        made=result.made,
        replaced=result.replaced,
        already_issued=result.already_issued,
        differ_from_issued=list(result.differ_from_issued),
        later_drafts=list(result.later_drafts),
    )


@router.post("/issue")
def issue_month(body: MonthRequest, admin: AdminUser, state: StateDep) -> IssuedPublic:
    """Issue every draft of the month: numbered `YYYY/NNNN` with no gaps, never changed again."""
    return IssuedPublic(numbers=state.billing.issue(Month.parse(body.month), by=admin.username))


@router.get(
    "/fiscal/{month}/bundle.zip",
    response_class=Response,
    responses={200: {"content": {ZIP: {}}, "description": "The month's FatturaPA files"}},
)
def fiscal_bundle(month: MonthPath, staff: StaffUser, state: StateDep) -> Response:
    """The FatturaPA files issued in a month, as stored at issue, for an SdI intermediary."""
    bundle = state.billing.fiscal_bundle(Month.parse(month))
    return attachment(bundle, ZIP, f"fatturapa-{month}.zip")


@router.get(
    "/register/{month}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The accountant's register"}},
)
def register_as_csv(
    month: MonthPath,
    staff: StaffUser,
    state: StateDep,
    lang: Annotated[Literal["it", "en"] | None, Query()] = None,
) -> Response:
    """The documents issued in a month, one row each, in `lang` or the settings' language."""
    rows = state.billing.register(Month.parse(month))
    locale = Locale(lang or state.billing.settings.locale)
    name = f"register-{month}.csv"
    return attachment(register_csv(rows, locale), "text/csv; charset=utf-8", name)


@router.get(
    "/register/{month}.json",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "The register"}},
)
def register_as_json(month: MonthPath, staff: StaffUser, state: StateDep) -> Response:
    """The documents issued in a month as JSON, amounts as exact decimal text."""
    rows = state.billing.register(Month.parse(month))
    return attachment(register_json(rows), "application/json", f"register-{month}.json")


@router.get("/{statement_id}", responses={403: {"description": "Another member's statement"}})
def read_statement(statement_id: StatementId, user: PersonUser, state: StateDep) -> StatementPublic:
    """One statement or credit note; an issued one paid from credit says what credit paid, what
    is still owed and the credit left."""
    (public,) = with_payments(state, [stored_statement(state, statement_id, user)])
    paid = state.billing.ledger.statement_credit(statement_id)
    if paid is None:
        return public
    return public.model_copy(
        update={
            "credit_drawn_cents": paid.drawn_cents,
            "credit_owed_cents": paid.owed_cents,
            "credit_left_cents": paid.balance_after_cents,
        }
    )


@router.post(
    "/{statement_id}/credit-note",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Not an issued statement"}},
)
def credit_note(
    statement_id: StatementId,
    body: CreditNoteCreate,
    admin: AdminUser,
    state: StateDep,
) -> StatementPublic:
    """Correct an issued statement with a credit note: all of it, or a net amount."""
    original = stored_statement(state, statement_id, admin)
    if original.number is None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="only an issued statement is credited")
    note = state.billing.credit(
        original.number,
        reason=body.reason,
        net_cents=None if body.net is None else parse_cents(body.net, "net"),
        vat_bp=None if body.vat is None else parse_vat_bp(body.vat, "vat"),
        by=admin.username,
    )
    return statement_public(note)


@router.get(
    "/{statement_id}/fattura.xml",
    response_class=Response,
    responses={
        200: {"content": {XML: {}}, "description": "The statement's FatturaPA file"},
        403: {"description": "Another member's statement"},
        404: {"description": "No such statement, or one without a FatturaPA"},
    },
)
def fattura_xml(statement_id: StatementId, user: PersonUser, state: StateDep) -> Response:
    """The FatturaPA file stored when the statement was issued in fattura mode."""
    document = state.billing.fiscal_document(stored_statement(state, statement_id, user))
    return attachment(document.xml, XML, document.file_name)


@router.get(
    "/{statement_id}/pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The statement as a PDF"},
        403: {"description": "Another member's statement"},
    },
)
async def statement_pdf(statement_id: StatementId, user: PersonUser, state: StateDep) -> Response:
    """The statement as a PDF, in the member's language."""
    statement = await run_in_threadpool(stored_statement, state, statement_id, user)
    pdf = await run_in_threadpool(state.billing.pdf, statement)
    name = (statement.number or f"draft-{statement.id}").replace("/", "-")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )
