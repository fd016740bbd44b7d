"""Payments received: bank files imported, statements' payment state, reminders for late ones.

A statement is due its issue day plus the workshop's payment terms (the fiscal profile's
`payment_terms_days`, else 30 days). Amounts are integer cents throughout: what a file brings
in is what the ledger books, matched or waiting, to the cent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from services.billing import formats
from services.billing.bank_files import read_bank_file
from services.billing.errors import DeliveryError
from services.billing.fiscal_print import creditor_reference, issue_day
from services.billing.mailer import Mailer
from services.billing.reconcile import DEFAULT_TERMS_DAYS, PaymentState, payment_state
from services.billing.records import StatementKind, StatementStatus, StoredStatement
from services.billing.service import Billing
from services.billing.settings import SmtpSettings, Workshop
from services.billing.store import ImportResult
from services.billing.wording import Word, say

log = logging.getLogger(__name__)

MAX_BANK_FILE_BYTES = 1024 * 1024
REMIND_EVERY_DAYS = 7  # a late member hears from the workshop once a week, not every day


@dataclass(frozen=True, slots=True)
class BankImport:
    """A bank file imported: which kind it was, how many credits it held and what was booked."""

    kind: str
    credits: int
    credited_cents: int
    result: ImportResult


@dataclass(frozen=True, slots=True)
class StatementPayment:
    """What an issued statement has been paid, by when it is due, and where it stands.

    Credit notes against it lower what it owes: `credited_cents` (VAT included) is subtracted
    from its total before it is called paid, part-paid or overdue.
    """

    paid_cents: int
    due: date
    state: PaymentState
    credited_cents: int = 0

    def open_cents(self, total_cents: int) -> int:
        """What is still owed on a statement of this total (never below zero)."""
        return max(total_cents - self.credited_cents - self.paid_cents, 0)


def import_bank_file(billing: Billing, data: bytes) -> BankImport:
    """Read a CAMT.053 or CSV bank file and book its credits; BankFileError refuses it whole."""
    kind, credits = read_bank_file(data)
    result = billing.ledger.import_credits(kind, credits)
    log.info(
        "bank file (%s): %d credits, %d new, %d matched",
        kind,
        len(credits),
        result.added,
        result.matched,
    )
    return BankImport(kind, len(credits), sum(c.amount_cents for c in credits), result)


def terms_days(workshop: Workshop) -> int:
    """Days a member has to pay: the fiscal profile's terms, else 30."""
    profile = workshop.fiscal
    return profile.payment_terms_days if profile is not None else DEFAULT_TERMS_DAYS


def payments_of(
    billing: Billing, statements: list[StoredStatement], today: date
) -> dict[int, StatementPayment]:
    """The payment state of each issued statement among some (drafts and credit notes have none)."""
    payable = [s for s in statements if _payable(s)]
    paid = billing.ledger.paid_cents(s.id for s in payable)
    credited = billing.ledger.credited_cents(s.id for s in payable)
    terms = timedelta(days=terms_days(billing.settings.workshop))
    states = {}
    for statement in payable:
        issued = issue_day(statement, billing.tz)
        if issued is None:
            continue
        due = issued + terms
        got = paid.get(statement.id, 0)
        back = credited.get(statement.id, 0)
        owed = statement.total_cents - back
        states[statement.id] = StatementPayment(
            got, due, payment_state(owed, got, due, today), back
        )
    return states


def _payable(statement: StoredStatement) -> bool:
    return (
        statement.kind is StatementKind.STATEMENT
        and statement.status is StatementStatus.ISSUED
        and statement.number is not None
        and statement.total_cents > 0
    )


def reminder_message(
    statement: StoredStatement,
    payment: StatementPayment,
    *,
    smtp: SmtpSettings,
    workshop: Workshop,
) -> EmailMessage:
    """The reminder of a late statement: what is still open, by when it was due, the reference."""
    if not statement.member_email or statement.number is None:
        raise DeliveryError(f"{statement.number}: member {statement.member} has no e-mail address")
    language = statement.locale
    message = EmailMessage()
    message["Subject"] = (
        f"{say(Word.REMINDER_SUBJECT, language)} · {statement.number} · {workshop.name}"
    )
    message["From"] = formataddr((workshop.name, smtp.sender))
    message["To"] = formataddr((statement.member_name, statement.member_email))
    if smtp.reply_to:
        message["Reply-To"] = smtp.reply_to
    message["Message-ID"] = make_msgid(domain=smtp.sender.partition("@")[2] or None)
    open_cents = payment.open_cents(statement.total_cents)
    message.set_content(
        say(Word.REMINDER_BODY, language).format(
            number=statement.number,
            workshop=workshop.name,
            due=formats.day(payment.due, language),
            open=formats.money(open_cents, statement.currency, language),
            reference=creditor_reference(statement.number),
        )
    )
    return message


def overdue(billing: Billing, today: date) -> list[tuple[StoredStatement, StatementPayment]]:
    """Issued statements past their due day and not paid in full, oldest first."""
    statements = [
        statement
        for statement_id in billing.ledger.unpaid_statement_ids()
        if (statement := billing.ledger.statement_by_id(statement_id)) is not None
    ]
    states = payments_of(billing, statements, today)
    return [
        (statement, states[statement.id])
        for statement in statements
        if statement.id in states and states[statement.id].state is PaymentState.OVERDUE
    ]


def send_reminders(
    billing: Billing, mailer: Mailer, today: date, *, every_days: int = REMIND_EVERY_DAYS
) -> tuple[list[str], list[str]]:
    """E-mail a reminder for each overdue statement not reminded in the last `every_days` days.

    A statement is marked reminded only once the server took its message: the numbers reminded,
    and those whose reminder failed (tried again next time).
    """
    late = overdue(billing, today)
    last = billing.ledger.reminded(statement.id for statement, _ in late)
    since = today - timedelta(days=every_days)
    due = [
        (statement, payment)
        for statement, payment in late
        if statement.id not in last or last[statement.id] <= since
    ]
    sent: list[str] = []
    failed: list[str] = []
    if not due:
        return sent, failed
    with mailer.connection() as postbox:
        for statement, payment in due:
            number = statement.number or str(statement.id)
            try:
                message = reminder_message(
                    statement, payment, smtp=mailer.smtp, workshop=mailer.workshop
                )
                postbox.deliver(message, number)
            except DeliveryError as err:
                log.warning("%s", err)
                failed.append(number)
            else:
                billing.ledger.mark_reminded(statement.id, today)
                sent.append(number)
    return sent, failed
