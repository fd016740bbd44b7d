"""Billing's steps for a month: compute, make the drafts, issue, render, send.

Each step writes one line in the run log (`billing_runs`), so the scheduler and the treasurer
can see what happened to every month and when.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.billing.engine import MonthStatements, bill_month
from services.billing.errors import (
    BillingError,
    BillingInputError,
    DeliveryError,
    MonthNotOverError,
    StatementStateError,
)
from services.billing.fiscal import NotAFiscalDocumentError
from services.billing.fiscal_issue import DocumentMaker, bills_fatture, document_maker
from services.billing.fiscal_lines import meters_from_tariffs
from services.billing.fiscal_print import FiscalContext, OriginalDocument
from services.billing.mailer import Mailer
from services.billing.months import Month, MonthWindow, zone
from services.billing.progress import progress
from services.billing.records import StatementKind, StatementStatus, StoredStatement
from services.billing.register import RegisterRow, register_rows
from services.billing.settings import BillingSettings
from services.billing.store import BillingLedger, DraftResult, StoredDocument
from services.billing.tariffs import TariffBook
from services.fiscal import BillingMode, FiscalInputError, stored_bundle

log = logging.getLogger(__name__)


class Step:
    """The names of a month's steps in the run log."""

    DRAFT = "draft"
    ISSUE = "issue"
    MAIL = "mail"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What sending a batch did: sent, and statements that could not be sent (and why)."""

    sent: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]


class Billing:
    """A month's billing on one ledger with one set of settings."""

    def __init__(
        self, ledger: BillingLedger, settings: BillingSettings, *, terminal: bool | None = None
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.tz: ZoneInfo = zone(settings.timezone)
        self._terminal = terminal

    def compute(self, month: Month) -> MonthStatements:
        """The month's statements as the ledger stands now (nothing is written)."""
        inputs = self.ledger.month_inputs(month, self.tz)
        with progress(f"billing {month}", len(inputs.sessions), terminal=self._terminal) as step:
            return bill_month(inputs, progress=step)

    def make_drafts(self, month: Month, *, by: str | None = None) -> DraftResult:
        """Compute the month and replace its drafts, logged as one run step (with who asked)."""
        run = self.ledger.start_run(month, Step.DRAFT, by=by)
        try:
            computed = self.compute(month)
            with progress(
                f"drafts of {month}", len(computed.statements), terminal=self._terminal
            ) as step:
                result = self.ledger.save_drafts(
                    computed,
                    locale=self.settings.locale,
                    currency=self.settings.currency,
                    progress=step,
                )
        except BillingError as err:
            self.ledger.finish_run(run, outcome="failed", detail=str(err))
            raise
        detail = None
        if result.differ_from_issued:
            detail = "issued statements differ now: " + ", ".join(result.differ_from_issued)
        if result.later_drafts:
            later = ", ".join(result.later_drafts)
            detail = f"{detail}; " if detail else ""
            detail += f"pack draws changed: drafts of {later} made again"
        self.ledger.finish_run(run, outcome="done", statements=result.made, detail=detail)
        # Later months drew from what this month left of its packs: their drafts are made again.
        for later in result.later_drafts:
            self.make_drafts(Month.parse(later), by=by)
        return result

    def issue(self, month: Month, *, by: str | None = None) -> list[str]:
        """Issue the month's drafts in one transaction, logged as one run step."""
        return self._issue(month, by=by, only=None)

    def issue_statement(self, statement_id: int, *, by: str | None = None) -> str:
        """Issue one draft, numbered next in the series, logged as a step of its month."""
        draft = self.ledger.statement_by_id(statement_id)
        if draft is None or draft.kind is not StatementKind.STATEMENT:
            raise StatementStateError(f"no statement {statement_id} to issue")
        if draft.status is not StatementStatus.DRAFT:
            raise StatementStateError(f"{draft.number} is issued already")
        numbers = self._issue(Month.parse(draft.month), by=by, only=statement_id)
        if not numbers:  # made again or issued by someone else in between
            raise StatementStateError(f"statement {statement_id} is no longer a draft")
        return numbers[0]

    def _issue(self, month: Month, *, by: str | None, only: int | None) -> list[str]:
        # An issued statement is final: a month still running would miss its last sessions.
        ends = MonthWindow(month, self.tz).end
        if self.ledger.now() < ends:
            raise MonthNotOverError(
                f"month: {month} is not over until {ends.astimezone(self.tz):%Y-%m-%d %H:%M %Z}; "
                "its drafts can be reviewed now and issued once it has ended"
            )
        run = self.ledger.start_run(month, Step.ISSUE, by=by)
        drafts = 1 if only is not None else self.ledger.month_state(month)[0]
        try:
            with progress(f"issuing {month}", drafts, terminal=self._terminal) as step:
                numbers = self.ledger.issue_month(
                    month, tz=self.tz, progress=step, only=only, documents=self._documents()
                )
        except BillingError as err:
            self.ledger.finish_run(run, outcome="failed", detail=str(err))
            raise
        # Credit pays what it can of each statement just issued; the rest stays owed.
        just_issued = set(numbers)
        issued = [
            s.id
            for s in self.ledger.statements(month, kind=StatementKind.STATEMENT, with_lines=False)
            if s.number in just_issued
        ]
        drawn = self.ledger.pay_issued_from_credit(issued)
        if drawn:
            log.info("%s: %d statements drawn from credit", month, len(drawn))
        detail = f"{numbers[0]} to {numbers[-1]}" if numbers else None
        self.ledger.finish_run(run, outcome="done", statements=len(numbers), detail=detail)
        return numbers

    def credit(
        self,
        number: str,
        *,
        reason: str,
        net_cents: int | None = None,
        vat_bp: int | None = None,
        by: str | None = None,
    ) -> StoredStatement:
        """Issue a credit note against an issued statement, logged as a step of its month."""
        original = self.ledger.statement(number)
        run = self.ledger.start_run(Month.parse(original.month), Step.CREDIT, by=by)
        try:
            note = self.ledger.credit(
                number,
                reason=reason,
                tz=self.tz,
                net_cents=net_cents,
                vat_bp=vat_bp,
                documents=self._documents(),
            )
        except BillingError as err:
            self.ledger.finish_run(run, outcome="failed", detail=f"{number}: {err}")
            raise
        self.ledger.finish_run(
            run, outcome="done", statements=1, detail=f"{note.number} credits {number}"
        )
        return note

    def _documents(self) -> DocumentMaker | None:
        """In fattura mode, what makes each issued statement's file (refused if incomplete)."""
        if not bills_fatture(self.settings.workshop):
            return None
        return document_maker(
            self.settings.workshop,
            meter_of=meters_from_tariffs(TariffBook.of(self.ledger.tariffs())),
            locale=self.settings.locale,
            tz=self.tz,
        )

    def fiscal_document(self, statement: StoredStatement) -> StoredDocument:
        """The FatturaPA file stored when a statement was issued in fattura mode."""
        if statement.status is not StatementStatus.ISSUED:
            raise NotAFiscalDocumentError(
                f"statement {statement.id} is a draft: it has a FatturaPA once issued"
            )
        document = self.ledger.fiscal_document(statement.id)
        if document is None:
            raise NotAFiscalDocumentError(
                f"{statement.number} has no FatturaPA: it was issued as a rendiconto"
                " (or had nothing to invoice)"
            )
        return document

    def fiscal_bundle(self, month: Month) -> bytes:
        """The FatturaPA files issued in a month, as stored, zipped for the SdI intermediary."""
        documents = self.ledger.month_fiscal_documents(month, self.tz)
        try:
            return stored_bundle(str(month), [(d.file_name, d.xml) for d in documents])
        except FiscalInputError as err:  # a file dated outside the month: the zone was changed
            raise BillingInputError(err.field, err.reason) from err

    def register(self, month: Month) -> list[RegisterRow]:
        """The accountant's rows of the statements and credit notes issued in a month."""
        issued = self.ledger.issued_in(month, self.tz)
        notes = [s for s in issued if s.kind is StatementKind.CREDIT_NOTE]
        mode = (
            BillingMode.FATTURA if bills_fatture(self.settings.workshop) else BillingMode.RENDICONTO
        )
        return register_rows(
            issued,
            self.ledger.register_parties(issued),
            mode,
            originals=self.ledger.credited_originals(notes),
            tz=self.tz,
        )

    def pdf(self, statement: StoredStatement, fiscal: FiscalContext | None = None) -> bytes:
        """A stored statement as a PDF: with the workshop's fiscal profile and the member's party
        (the one its FatturaPA file went to, else her default), the document a treasurer files."""
        context = fiscal or self.fiscal_context(statement)
        # Loaded here: the scheduler and the api keep the PDF library out of memory until a
        # statement is rendered.
        from services.billing.pdf import statement_pdf

        return statement_pdf(
            statement,
            workshop=self.settings.workshop,
            tz=self.tz,
            fiscal=context,
            from_credit=self.ledger.statement_credit(statement.id),
        )

    def fiscal_context(self, statement: StoredStatement) -> FiscalContext | None:
        """Who issues a statement and who it is for, fiscally; None without a profile or party."""
        workshop = self.settings.workshop.fiscal
        if workshop is None:
            return None
        party = self.ledger.register_parties([statement]).get(statement.id)
        if party is None:
            return None
        original = None
        if statement.credits_number is not None:
            credited = self.ledger.statement(statement.credits_number)
            if credited.issued_at is not None:
                issued = credited.issued_at.astimezone(self.tz).date()
                original = OriginalDocument(number=credited.number or "", issued=issued)
        return FiscalContext(workshop=workshop, party=party, original=original)

    def send(self, month: Month | None, mailer: Mailer, *, by: str | None = None) -> SendResult:
        """E-mail every issued, unsent statement (of one month, or all) with its PDF."""
        return self._send(self.ledger.unsent(month), month, mailer, by=by)

    def send_statement(self, statement_id: int, mailer: Mailer, *, by: str | None = None) -> str:
        """E-mail one issued statement or credit note with its PDF, sent before or not."""
        statement = self.ledger.statement_by_id(statement_id)
        if statement is None or statement.status is not StatementStatus.ISSUED:
            raise StatementStateError(f"statement {statement_id} is not issued: nothing to send")
        result = self._send([statement], Month.parse(statement.month), mailer, by=by)
        if result.failed:
            raise DeliveryError(result.failed[0][1])
        return result.sent[0]

    def _send(
        self,
        unsent: list[StoredStatement],
        month: Month | None,
        mailer: Mailer,
        *,
        by: str | None,
    ) -> SendResult:
        if not unsent:
            return SendResult((), ())
        run = self.ledger.start_run(month or Month.parse(unsent[0].month), Step.MAIL, by=by)
        sent: list[str] = []
        failed: list[tuple[str, str]] = []
        try:
            with (
                progress("e-mailing statements", len(unsent), terminal=self._terminal) as step,
                mailer.connection() as postbox,
            ):
                for statement in unsent:
                    number = statement.number or str(statement.id)
                    try:
                        postbox.send(statement, self.pdf(statement))
                    except DeliveryError as err:
                        log.warning("%s", err)
                        failed.append((number, str(err)))
                    else:
                        self.ledger.mark_emailed(statement.id)
                        sent.append(number)
                    step(1)
        except DeliveryError as err:
            self.ledger.finish_run(run, outcome="failed", statements=len(sent), detail=str(err))
            raise
        outcome = "done" if not failed else "partial"
        detail = "; ".join(f"{number}: {why}" for number, why in failed) or None
        self.ledger.finish_run(run, outcome=outcome, statements=len(sent), detail=detail)
        return SendResult(tuple(sent), tuple(failed))
