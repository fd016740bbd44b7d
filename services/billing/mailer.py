"""E-mail issued statements to their members over SMTP, the PDF attached.

One connection per batch. A statement is marked e-mailed only after the server accepted it;
a crash between the two sends that one statement again, never none (at least once).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from services.billing import formats
from services.billing.errors import DeliveryError
from services.billing.months import Month
from services.billing.records import StatementKind, StoredStatement
from services.billing.settings import SmtpSecurity, SmtpSettings, Workshop
from services.billing.wording import Word, say

log = logging.getLogger(__name__)


def statement_message(
    statement: StoredStatement, pdf: bytes, *, smtp: SmtpSettings, workshop: Workshop
) -> EmailMessage:
    """The e-mail of one statement: a short text in the member's language and the PDF."""
    if not statement.member_email:
        raise DeliveryError(f"{statement.number}: member {statement.member} has no e-mail address")
    language = statement.locale
    kind = Word.CREDIT_NOTE if statement.kind is StatementKind.CREDIT_NOTE else Word.STATEMENT
    period = formats.month_name(Month.parse(statement.month), language)
    message = EmailMessage()
    message["Subject"] = f"{say(kind, language)} {statement.number} · {period} · {workshop.name}"
    message["From"] = formataddr((workshop.name, smtp.sender))
    message["To"] = formataddr((statement.member_name, statement.member_email))
    if smtp.reply_to:
        message["Reply-To"] = smtp.reply_to
    message["Message-ID"] = make_msgid(domain=smtp.sender.partition("@")[2] or None)
    total = formats.money(statement.total_cents, statement.currency, language)
    message.set_content(
        say(Word.MAIL_BODY, language).format(
            number=statement.number, period=period, workshop=workshop.name, total=total
        )
    )
    filename = f"{(statement.number or 'draft').replace('/', '-')}.pdf"
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message


class Mailer:
    """Sends statements through the configured SMTP server."""

    def __init__(self, smtp: SmtpSettings, workshop: Workshop) -> None:
        self.smtp = smtp
        self.workshop = workshop

    @contextmanager
    def connection(self) -> Iterator[Postbox]:
        """An open, logged-in SMTP connection for a batch of statements."""
        smtp = self.smtp
        try:
            client: smtplib.SMTP
            if smtp.security is SmtpSecurity.TLS:
                context = ssl.create_default_context()
                client = smtplib.SMTP_SSL(
                    smtp.host, smtp.port, timeout=smtp.timeout_s, context=context
                )
            else:
                client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
            with client:
                if smtp.security is SmtpSecurity.STARTTLS:
                    client.starttls(context=ssl.create_default_context())
                password = smtp.password()
                if smtp.username and password:
                    client.login(smtp.username, password)
                yield Postbox(client, self)
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {err}") from err


class Postbox:
    """An open SMTP connection that takes statements."""

    def __init__(self, client: smtplib.SMTP, mailer: Mailer) -> None:
        self._client = client
        self._mailer = mailer

    def send(self, statement: StoredStatement, pdf: bytes) -> None:
        """Hand one statement to the server; DeliveryError if it refuses this recipient."""
        message = statement_message(
            statement, pdf, smtp=self._mailer.smtp, workshop=self._mailer.workshop
        )
        self.deliver(message, statement.number or str(statement.id))
        log.info("e-mailed %s to %s", statement.number, statement.member_email)

    def deliver(self, message: EmailMessage, what: str) -> None:
        """Hand one message to the server; DeliveryError (naming `what`) if it is refused."""
        try:
            refused = self._client.send_message(message)
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError(f"{what}: recipient refused: {err}") from err
        if refused:
            raise DeliveryError(f"{what}: refused: {refused}")
