"""Billing's steps for a month: compute, make the drafts, issue, render, send.

Each step writes one line in the run log (`billing_runs`), so the scheduler and the treasurer
can see what happened to every month and when.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.billing.engine import MonthStatements, bill_month
from services.billing.errors import BillingError, DeliveryError
from services.billing.mailer import Mailer
from services.billing.months import Month, zone
from services.billing.pdf import statement_pdf
from services.billing.progress import progress
from services.billing.records import StoredStatement
from services.billing.settings import BillingSettings
from services.billing.store import BillingLedger, DraftResult

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

    def make_drafts(self, month: Month) -> DraftResult:
        """Compute the month and replace its drafts, logged as one run step."""
        run = self.ledger.start_run(month, Step.DRAFT)
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
        self.ledger.finish_run(run, outcome="done", statements=result.made, detail=detail)
        return result

    def issue(self, month: Month) -> list[str]:
        """Issue the month's drafts in one transaction, logged as one run step."""
        run = self.ledger.start_run(month, Step.ISSUE)
        drafts, _issued, _oldest = self.ledger.month_state(month)
        try:
            with progress(f"issuing {month}", drafts, terminal=self._terminal) as step:
                numbers = self.ledger.issue_month(month, tz=self.tz, progress=step)
        except BillingError as err:
            self.ledger.finish_run(run, outcome="failed", detail=str(err))
            raise
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
    ) -> StoredStatement:
        """Issue a credit note against an issued statement, logged as a step of its month."""
        original = self.ledger.statement(number)
        run = self.ledger.start_run(Month.parse(original.month), Step.CREDIT)
        try:
            note = self.ledger.credit(
                number, reason=reason, tz=self.tz, net_cents=net_cents, vat_bp=vat_bp
            )
        except BillingError as err:
            self.ledger.finish_run(run, outcome="failed", detail=f"{number}: {err}")
            raise
        self.ledger.finish_run(
            run, outcome="done", statements=1, detail=f"{note.number} credits {number}"
        )
        return note

    def pdf(self, statement: StoredStatement) -> bytes:
        """A stored statement as a PDF."""
        return statement_pdf(statement, workshop=self.settings.workshop, tz=self.tz)

    def send(self, month: Month | None, mailer: Mailer) -> SendResult:
        """E-mail every issued, unsent statement (of one month, or all) with its PDF."""
        unsent = self.ledger.unsent(month)
        if not unsent:
            return SendResult((), ())
        run = self.ledger.start_run(month or Month.parse(unsent[0].month), Step.MAIL)
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
