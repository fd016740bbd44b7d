"""The treasurer's pages: statements to review, issue, credit and send; what waits for review.

Every action goes through billing's service (or the review queue), so the run log says what was
done and by which login. Forms post here with the page's CSRF value and are answered with a
redirect back to the page and a short message (`?done=`); a refusal is a page naming the field.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from services.api import queries
from services.api.deps import CSRF_HEADER, DbDep, Principal, StateDep
from services.api.schemas.common import MonthText
from services.api.security import Role, csrf_for
from services.api.state import ApiState
from services.api.web.access import StaffPage
from services.api.web.i18n import language_of
from services.api.web.render import page_month, render
from services.api.web.statement_view import statement_view
from services.billing import formats
from services.billing.errors import (
    BillingInputError,
    DeliveryError,
    StatementStateError,
    UnallocatablePoolError,
)
from services.billing.exports import lines_csv
from services.billing.fiscal import NotAFiscalDocumentError
from services.billing.fiscal_issue import bills_fatture
from services.billing.mailer import Mailer
from services.billing.months import Month
from services.billing.records import StatementStatus, StoredStatement
from services.billing.register import register_csv, register_json
from services.fiscal import Locale
from services.ledger import HeldSessionNotFoundError, RegistryError

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

StatementId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The statement's id")]
HeldId = Annotated[str, Path(max_length=36, description="The held session's id")]
MAX_FORM_BYTES = 8192
MAX_FORM_FIELDS = 16
MAX_REASON_CHARS = 500
_MONTH: TypeAdapter[str] = TypeAdapter(MonthText)

# What a redirect back may say: `?done=` picks one of these phrases, anything else says nothing.
DONE = frozenset(
    {"drafted", "issued", "issued_all", "credited", "sent", "released", "dismissed", "nothing"}
)


class RefusedError(Exception):
    """An action refused: the status, the field at fault and why."""

    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.status = status
        self.field = field
        self.reason = reason


def _refused(request: Request, state: ApiState, user: Principal, err: RefusedError) -> Response:
    state.rejections.count(err.field)
    return render(
        request,
        state,
        "billing_refused.html",
        user,
        status_code=err.status,
        field=err.field,
        reason=err.reason,
    )


async def _form(request: Request, state: ApiState, user: Principal) -> dict[str, str]:
    """The posted form, once its CSRF value (field `csrf` or the header) is the page's."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise RefusedError(413, "form", "too large")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as err:
        raise RefusedError(400, "form", "not a form") from err
    form = dict(pairs)
    sent = form.get("csrf") or request.headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(sent.encode(), csrf_for(user.token, state.settings.secret).encode()):
        raise RefusedError(403, "csrf", "missing or wrong: reload the page and try again")
    return form


def _admin(user: Principal) -> None:
    if user.role is not Role.ADMIN:
        raise RefusedError(403, "role", "only an admin issues and credits statements")


def _month_of(form: Mapping[str, str]) -> Month:
    # The same rule as every month the api takes: YYYY-MM, in the years the ledger keeps.
    try:
        return Month.parse(_MONTH.validate_python(form.get("month", "")))
    except (ValidationError, BillingInputError) as err:
        raise RefusedError(422, "month", "give a month as YYYY-MM") from err


def _missing(statement_id: int) -> RefusedError:
    return RefusedError(404, "statement", f"there is no statement {statement_id}")


def _statement(state: ApiState, statement_id: int) -> StoredStatement:
    statement = queries.statement(state, statement_id)
    if statement is None:
        raise _missing(statement_id)
    return statement


def _back(path: str, done: str) -> Response:
    joiner = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{joiner}done={done}", status_code=303)


async def _act(
    request: Request,
    state: ApiState,
    user: Principal,
    action: Callable[[dict[str, str]], Response],
) -> Response:
    """Read the form, do the action in a worker thread, and answer a refusal as a page."""
    try:
        form = await _form(request, state, user)
        return await run_in_threadpool(action, form)
    except RefusedError as err:
        return _refused(request, state, user, err)
    except BillingInputError as err:
        return _refused(request, state, user, RefusedError(422, err.field, err.reason))
    except RegistryError as err:
        return _refused(request, state, user, RefusedError(422, err.field, str(err)))
    except StatementStateError as err:
        return _refused(request, state, user, RefusedError(409, "statement", str(err)))
    except UnallocatablePoolError as err:
        return _refused(request, state, user, RefusedError(409, "pool", str(err)))
    except HeldSessionNotFoundError as err:
        return _refused(request, state, user, RefusedError(404, "session", str(err)))
    except DeliveryError as err:
        log.warning("%s", err)
        return _refused(request, state, user, RefusedError(502, "smtp", "the mail server refused"))


def _done(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in DONE else None


def _credit_notes(statements: list[StoredStatement]) -> dict[str, list[StoredStatement]]:
    """The credit notes among some statements, by the number of the statement each corrects."""
    notes: dict[str, list[StoredStatement]] = {}
    for statement in statements:
        if statement.credits_number is not None:
            notes.setdefault(statement.credits_number, []).append(statement)
    return notes


# --- a month's statements ---------------------------------------------------------------------


@router.get("/manage/statements", response_class=HTMLResponse)
def manage_statements(
    request: Request,
    state: StateDep,
    user: StaffPage,
    month: Annotated[MonthText | None, Query()] = None,
) -> Response:
    """Staff: the month's statements and credit notes, and the month's actions."""
    billed = page_month(month, state)
    statements = queries.statements(state, billed)
    return render(
        request,
        state,
        "manage_statements.html",
        user,
        month=str(billed),
        month_label=formats.month_name(billed, language_of(request).value),
        previous_month=str(billed.previous()),
        next_month=str(billed.next()),
        statements=statements,
        payments=queries.statement_payments(state, statements),
        credited_by=_credit_notes(statements),
        drafts=sum(1 for s in statements if s.status is StatementStatus.DRAFT),
        is_admin=user.role is Role.ADMIN,
        fattura=bills_fatture(state.billing.settings.workshop),
        done=_done(request),
    )


@router.post("/manage/statements/drafts", response_class=HTMLResponse)
async def make_drafts(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Staff: close the month, making its drafts again from the ledger (issued ones stay)."""

    def action(form: dict[str, str]) -> Response:
        month = _month_of(form)
        state.billing.make_drafts(month, by=user.username)
        return _back(f"/manage/statements?month={month}", "drafted")

    return await _act(request, state, user, action)


@router.post("/manage/statements/issue", response_class=HTMLResponse)
async def issue_month(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Admins: issue every draft of the month."""

    def action(form: dict[str, str]) -> Response:
        _admin(user)
        month = _month_of(form)
        numbers = state.billing.issue(month, by=user.username)
        return _back(f"/manage/statements?month={month}", "issued_all" if numbers else "nothing")

    return await _act(request, state, user, action)


# --- one statement ----------------------------------------------------------------------------


@router.get("/manage/statements/{statement_id}", response_class=HTMLResponse)
def statement_page(
    request: Request, statement_id: StatementId, state: StateDep, db: DbDep, user: StaffPage
) -> Response:
    """Staff: a statement with its lines in words, its totals and VAT, and its actions."""
    statement = queries.statement(state, statement_id)
    if statement is None:
        return _refused(request, state, user, _missing(statement_id))
    session_ids = [line.session_id for line in statement.lines if line.session_id]
    lang = language_of(request).value
    month = Month.parse(statement.month)
    members = queries.statements(state, month, statement.member)
    originals = [s for s in members if s.number and s.number == statement.credits_number]
    return render(
        request,
        state,
        "statement.html",
        user,
        s=statement,
        view=statement_view(
            statement,
            lang=lang,
            machine_names=state.machine_names(),
            end_reasons=queries.end_reasons(db, session_ids),
        ),
        month_label=formats.month_name(month, lang),
        original=originals[0] if originals else None,
        credit_notes=_credit_notes(members).get(statement.number or "", []),
        payment=queries.statement_payments(state, [statement]).get(statement.id),
        from_credit=state.billing.ledger.statement_credit(statement.id),
        is_admin=user.role is Role.ADMIN,
        can_send=state.billing.settings.smtp is not None,
        has_fattura=state.billing.ledger.fiscal_document(statement_id) is not None,
        done=_done(request),
    )


@router.post("/manage/statements/{statement_id}/issue", response_class=HTMLResponse)
async def issue_statement(
    request: Request, statement_id: StatementId, state: StateDep, user: StaffPage
) -> Response:
    """Admins: issue one draft."""

    def action(form: dict[str, str]) -> Response:
        _admin(user)
        _statement(state, statement_id)
        state.billing.issue_statement(statement_id, by=user.username)
        return _back(f"/manage/statements/{statement_id}", "issued")

    return await _act(request, state, user, action)


@router.post("/manage/statements/{statement_id}/credit", response_class=HTMLResponse)
async def credit_statement(
    request: Request, statement_id: StatementId, state: StateDep, user: StaffPage
) -> Response:
    """Admins: correct an issued statement with a credit note for all of it, saying why."""

    def action(form: dict[str, str]) -> Response:
        _admin(user)
        original = _statement(state, statement_id)
        reason = form.get("reason", "").strip()
        if not reason:
            raise RefusedError(422, "reason", "a credit note says why")
        if len(reason) > MAX_REASON_CHARS:
            raise RefusedError(422, "reason", f"at most {MAX_REASON_CHARS} characters")
        if original.number is None:
            raise RefusedError(409, "statement", "only an issued statement is credited")
        note = state.billing.credit(original.number, reason=reason, by=user.username)
        return _back(f"/manage/statements/{note.id}", "credited")

    return await _act(request, state, user, action)


@router.post("/manage/statements/{statement_id}/send", response_class=HTMLResponse)
async def send_statement(
    request: Request, statement_id: StatementId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: e-mail an issued statement or credit note to its member, the PDF attached."""

    def action(form: dict[str, str]) -> Response:
        statement = _statement(state, statement_id)
        smtp = state.billing.settings.smtp
        if smtp is None:
            raise RefusedError(409, "smtp", "no mail server is configured")
        if not statement.member_email:
            raise RefusedError(409, "email", "the member has no e-mail address")
        mailer = Mailer(smtp, state.billing.settings.workshop)
        state.billing.send_statement(statement_id, mailer, by=user.username)
        return _back(f"/manage/statements/{statement_id}", "sent")

    return await _act(request, state, user, action)


def _file_name(statement: StoredStatement, extension: str) -> str:
    number = (statement.number or f"draft-{statement.id}").replace("/", "-")
    return f"{number}-{statement.member}.{extension}"


@router.get("/manage/statements/{statement_id}/pdf")
async def statement_pdf(
    request: Request, statement_id: StatementId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: the statement as a PDF, named by its number and member."""
    statement = await run_in_threadpool(queries.statement, state, statement_id)
    if statement is None:
        return _refused(request, state, user, _missing(statement_id))
    pdf = await run_in_threadpool(state.billing.pdf, statement)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_file_name(statement, "pdf")}"'},
    )


@router.get("/manage/statements/{statement_id}/csv")
def statement_csv(
    request: Request, statement_id: StatementId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: the statement's lines as CSV, named by its number and member."""
    statement = queries.statement(state, statement_id)
    if statement is None:
        return _refused(request, state, user, _missing(statement_id))
    return Response(
        lines_csv([statement], state.billing.tz, language_of(request).value),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_file_name(statement, "csv")}"'},
    )


def _download(data: bytes | str, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _month_path(month: str) -> Month:
    return _month_of({"month": month})


@router.get("/manage/statements/{statement_id}/fattura.xml")
def statement_fattura(
    request: Request, statement_id: StatementId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: the FatturaPA file stored when the statement was issued."""
    statement = queries.statement(state, statement_id)
    if statement is None:
        return _refused(request, state, user, _missing(statement_id))
    try:
        document = state.billing.fiscal_document(statement)
    except NotAFiscalDocumentError as err:
        return _refused(request, state, user, RefusedError(404, "statement", str(err)))
    return _download(document.xml, "application/xml", document.file_name)


@router.get("/manage/statements/fiscal/{month}/bundle.zip")
def fiscal_bundle(request: Request, month: str, state: StateDep, user: StaffPage) -> Response:
    """Staff: the month's stored FatturaPA files, zipped for the SdI intermediary."""
    try:
        bundle = state.billing.fiscal_bundle(_month_path(month))
    except RefusedError as err:
        return _refused(request, state, user, err)
    return _download(bundle, "application/zip", f"fatturapa-{month}.zip")


@router.get("/manage/statements/register/{month}.{extension}")
def fiscal_register(
    request: Request, month: str, extension: str, state: StateDep, user: StaffPage
) -> Response:
    """Staff: the accountant's register of the month, CSV in the page's language, or JSON."""
    try:
        billed = _month_path(month)
        if extension not in ("csv", "json"):
            raise RefusedError(404, "format", "the register is csv or json")
    except RefusedError as err:
        return _refused(request, state, user, err)
    rows = state.billing.register(billed)
    if extension == "json":
        return _download(register_json(rows), "application/json", f"register-{month}.json")
    text = register_csv(rows, Locale(language_of(request).value))
    return _download(text, "text/csv; charset=utf-8", f"register-{month}.csv")


# --- what waits for review --------------------------------------------------------------------


@router.get("/manage/review", response_class=HTMLResponse)
def manage_review(request: Request, state: StateDep, db: DbDep, user: StaffPage) -> Response:
    """Staff: held sessions, conflicting copies and dead letters, with names and local times."""
    return render(
        request,
        state,
        "manage_review.html",
        user,
        held=queries.held_sessions(state),
        conflicts=queries.session_conflicts(state),
        letters=queries.dead_letters(state),
        machine_names=state.machine_names(),
        member_names={m.id: m.name for m in queries.members(db)},
        done=_done(request),
    )


@router.post("/manage/review/held/{session_id}/release", response_class=HTMLResponse)
async def release_held(
    request: Request, session_id: HeldId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: bill a held session from now on (its member must be in the registry)."""

    def action(form: dict[str, str]) -> Response:
        queries.review_queue(state).release(session_id, by=user.username)
        return _back("/manage/review", "released")

    return await _act(request, state, user, action)


@router.post("/manage/review/held/{session_id}/dismiss", response_class=HTMLResponse)
async def dismiss_held(
    request: Request, session_id: HeldId, state: StateDep, user: StaffPage
) -> Response:
    """Staff: never bill a held session; it stays booked, for the record."""

    def action(form: dict[str, str]) -> Response:
        queries.review_queue(state).dismiss(session_id, by=user.username)
        return _back("/manage/review", "dismissed")

    return await _act(request, state, user, action)
