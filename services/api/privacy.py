"""A member's data: every record that names her, and erasure that keeps the amounts.

Erasure reassigns what must stay (sessions, badge events, statements: the workshop's amounts
and its numbered documents) to the member's *erased id*, `erased-` and sixteen hex digits of an
HMAC of her id under the api's secret, and drops or overwrites everything that says who she is:
her name, e-mail and card hashes, wherever a copy was kept, dead letters included, and her
billing parties, whole. The erased id is not the dashboards' display pseudonym
(`services/ledger/pseudonyms.py`): that one stays with her id and, once she is erased, resolves
to nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.api.accounts import disable_user
from services.api.models import ApiUserRow
from services.billing.models import (
    BillingRunRow,
    ConsumableTakeRow,
    CreditEntryRow,
    PackRow,
    PaymentRow,
    StatementLineRow,
    StatementRow,
)
from services.ledger import (
    BadgeEventRow,
    CardRow,
    DeadLetterRow,
    HeldSessionRow,
    MachineStateRow,
    MemberRow,
    QualificationRow,
    SessionConflictRow,
    SessionRow,
    WebhookEventRow,
)
from services.ledger.parties import erase_parties

ERASED_NAME = "(erased)"
ERASED_ID_PREFIX = "erased-"
# Dead letters are read in chunks: a busy site keeps thousands and none may be skipped.
_DEAD_LETTER_CHUNK = 500
# Free text that may name a member in passing: a credit note's reason (on the note and on its
# line), the billing run log's detail (a member whose issued statement differs, a mail error
# quoting an address). Each is a table and its text column.
NOTES: tuple[tuple[type[Any], str], ...] = (
    (StatementRow, "reason"),
    (StatementLineRow, "note"),
    (BillingRunRow, "detail"),
    # Webhook events name the member of a session or statement, and are kept after delivery.
    (WebhookEventRow, "body"),
)


def erased_id(member: str, secret: str) -> str:
    """The stable id an erased member's sessions, badges and statements are reassigned to."""
    digest = hmac.new(secret.encode(), b"erase:" + member.encode(), hashlib.sha256).hexdigest()
    return f"{ERASED_ID_PREFIX}{digest[:16]}"


def _erased_card(card: str, secret: str) -> str:
    # A card hash links sessions to a physical card: replace it by one that links to nothing.
    return hmac.new(secret.encode(), b"erased-card:" + card.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class MemberMarks:
    """What gives a member away in free text: her id, name, e-mail and card hashes."""

    member: str
    texts: tuple[str, ...]
    cards: tuple[str, ...]

    def _id_pattern(self) -> re.Pattern[str]:
        # Ids are short ("ada"): only a whole id counts, never one inside a longer word.
        return re.compile(rf"(?<![\w-]){re.escape(self.member)}(?![\w-])")

    def _text_patterns(self, *, emails: bool | None = None) -> list[re.Pattern[str]]:
        # Whole words only, too: a one-word name ("Ada") must not match inside "Canada".
        return [
            re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.IGNORECASE)
            for t in self.texts
            if emails is None or ("@" in t) == emails
        ]

    def found_in(self, text: str) -> bool:
        """Whether a text names the member."""
        folded = text.casefold()
        return (
            self._id_pattern().search(text) is not None
            or any(pattern.search(text) for pattern in self._text_patterns())
            or any(card in folded for card in self.cards)
        )

    def scrub(self, text: str, *, stand_in: str, secret: str) -> str:
        """The text with every mark of the member replaced by what stands in for it."""
        for card in self.cards:
            text = re.sub(re.escape(card), _erased_card(card, secret), text, flags=re.IGNORECASE)
        # An e-mail holds her id ("ada@…") and a name may spell it ("Ada"): the e-mail goes
        # whole, then the id (as ids are written) becomes her erased id, then the name goes.
        for pattern in self._text_patterns(emails=True):
            text = pattern.sub(ERASED_NAME, text)
        text = self._id_pattern().sub(stand_in, text)
        for pattern in self._text_patterns(emails=False):
            text = pattern.sub(ERASED_NAME, text)
        return text


def member_marks(db: Session, member: MemberRow) -> MemberMarks:
    """Her id, name and e-mail (also as JSON escapes them) and every card hash booked as hers."""
    texts: set[str] = set()
    if member.erased_at is None:
        for known in (member.name, member.email):
            if known:
                texts.update({known, json.dumps(known)[1:-1]})
    cards = set(db.scalars(select(CardRow.card_hash).where(CardRow.member == member.id)))
    cards.update(db.scalars(select(SessionRow.card_hash).where(SessionRow.member == member.id)))
    cards.update(
        db.scalars(select(BadgeEventRow.card_hash).where(BadgeEventRow.member == member.id))
    )
    return MemberMarks(
        member=member.id,
        # The longest first, so that a name is replaced whole before a part of it is.
        texts=tuple(sorted(texts, key=len, reverse=True)),
        cards=tuple(sorted(c.lower() for c in cards)),
    )


def _raw_text(raw: bytes) -> str:
    # A refused message may be any bytes; surrogateescape keeps the ones that are not UTF-8.
    return raw.decode("utf-8", errors="surrogateescape")


def dead_letters_naming(db: Session, marks: MemberMarks) -> list[DeadLetterRow]:
    """Every dead letter whose message or error names the member, oldest first."""
    query = (
        select(DeadLetterRow)
        .order_by(DeadLetterRow.id)
        .execution_options(yield_per=_DEAD_LETTER_CHUNK)
    )
    return [
        letter
        for letter in db.scalars(query)
        if marks.found_in(_raw_text(letter.raw)) or marks.found_in(letter.error)
    ]


def statements_of(db: Session, member: str) -> Sequence[StatementRow]:
    """The member's statements and credit notes, by month."""
    query = select(StatementRow).where(StatementRow.member == member)
    return db.scalars(query.order_by(StatementRow.month, StatementRow.id)).all()


def runs_naming(db: Session, marks: MemberMarks) -> list[BillingRunRow]:
    """The billing run log's entries whose detail names the member, oldest first."""
    query = select(BillingRunRow).where(BillingRunRow.detail.is_not(None))
    return [
        run
        for run in db.scalars(query.order_by(BillingRunRow.id))
        if run.detail is not None and marks.found_in(run.detail)
    ]


def _scrub_notes(db: Session, marks: MemberMarks, *, stand_in: str, secret: str) -> int:
    scrubbed = 0
    for table, attribute in NOTES:
        column = getattr(table, attribute)
        for row in db.scalars(select(table).where(column.is_not(None))):
            text: str = getattr(row, attribute)
            if marks.found_in(text):
                setattr(row, attribute, marks.scrub(text, stand_in=stand_in, secret=secret))
                scrubbed += 1
    return scrubbed


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a member changed in the ledger."""

    member: str
    erased_id: str
    sessions_reassigned: int
    badges_reassigned: int
    statements_reassigned: int
    dead_letters_scrubbed: int
    notes_scrubbed: int
    cards_removed: int
    qualifications_removed: int
    parties_removed: int
    logins_disabled: int
    consumables_reassigned: int = 0


def _scrub_dead_letters(
    letters: Iterable[DeadLetterRow], marks: MemberMarks, *, stand_in: str, secret: str
) -> int:
    scrubbed = 0
    for letter in letters:
        raw = marks.scrub(_raw_text(letter.raw), stand_in=stand_in, secret=secret)
        letter.raw = raw.encode("utf-8", errors="surrogateescape")
        letter.error = marks.scrub(letter.error, stand_in=stand_in, secret=secret)
        scrubbed += 1
    return scrubbed


def erase_member(db: Session, member: MemberRow, *, secret: str, now: datetime) -> Erasure:
    """Drop a member's personal data everywhere; what she used stays, under her erased id."""
    stand_in = erased_id(member.id, secret)
    marks = member_marks(db, member)
    letters = dead_letters_naming(db, marks)
    sessions = db.scalars(select(SessionRow).where(SessionRow.member == member.id)).all()
    for row in sessions:
        row.member = stand_in
        row.card_hash = _erased_card(row.card_hash, secret)
    badges = db.scalars(select(BadgeEventRow).where(BadgeEventRow.member == member.id)).all()
    for badge in badges:
        badge.member = stand_in
        badge.card_hash = _erased_card(badge.card_hash, secret)
    db.execute(
        update(MachineStateRow).where(MachineStateRow.member == member.id).values(member=stand_in)
    )
    # A session once held for review (booked before she was registered) keeps its decision.
    db.execute(
        update(HeldSessionRow).where(HeldSessionRow.member == member.id).values(member=stand_in)
    )
    for conflict in db.scalars(select(SessionConflictRow)):
        conflict.booked = marks.scrub(conflict.booked, stand_in=stand_in, secret=secret)
        conflict.delivered = marks.scrub(conflict.delivered, stand_in=stand_in, secret=secret)
    # Statements keep their numbers and amounts (they are the workshop's accounts), not her name.
    statements = statements_of(db, member.id)
    for statement in statements:
        statement.member = stand_in
        statement.member_name = ERASED_NAME
        statement.member_email = None
        statement.party_label = None  # a party's label may name her too
    # Payments keep their amounts and the statement they paid; who sent them and what she wrote
    # on the transfer name her, on her statements and wherever else her name was typed.
    hers = {statement.id for statement in statements}
    for payment in db.scalars(select(PaymentRow)):
        if payment.statement_id in hers:
            payment.payer = ERASED_NAME
        payment.payer = marks.scrub(payment.payer, stand_in=stand_in, secret=secret)
        payment.remittance = marks.scrub(payment.remittance, stand_in=stand_in, secret=secret)
    # Her credit and packs keep their amounts under her erased id; a note typed about her
    # (the remittance of a bank credit put on credit) is scrubbed like a payment's.
    for entry in db.scalars(select(CreditEntryRow).where(CreditEntryRow.member == member.id)):
        entry.member = stand_in
        entry.note = marks.scrub(entry.note, stand_in=stand_in, secret=secret)
    db.execute(update(PackRow).where(PackRow.member == member.id).values(member=stand_in))
    # Consumables she took keep their amounts (they are on her statements) under her erased id;
    # the login that recorded them may be her own name.
    takes = db.scalars(select(ConsumableTakeRow).where(ConsumableTakeRow.member == member.id)).all()
    for take in takes:
        take.member = stand_in
    usernames = select(ApiUserRow.username).where(ApiUserRow.member == member.id)
    db.execute(
        update(ConsumableTakeRow)
        .where(ConsumableTakeRow.recorded_by.in_(usernames))
        .values(recorded_by=stand_in)
    )
    scrubbed = _scrub_dead_letters(letters, marks, stand_in=stand_in, secret=secret)
    notes = _scrub_notes(db, marks, stand_in=stand_in, secret=secret)
    # Her billing parties go whole: name, codice fiscale, address and PEC are all personal, and
    # an issued document carries its own copy of the party it was made out to, so the law's
    # keeping of fiscal records needs nothing from this table.
    parties = erase_parties(db, member.id)
    cards = db.scalars(select(CardRow).where(CardRow.member == member.id)).all()
    qualifications = db.scalars(
        select(QualificationRow).where(QualificationRow.member == member.id)
    ).all()
    for gone in (*cards, *qualifications):
        db.delete(gone)
    logins = db.scalars(select(ApiUserRow).where(ApiUserRow.member == member.id)).all()
    disabled = 0
    for login in logins:
        if login.disabled_at is None:
            disable_user(db, login, now=now)
            disabled += 1
        # A username is often the member's name or e-mail; the login's row stays, disabled.
        login.username = f"{stand_in}-{login.id}"
    member.name = ERASED_NAME
    member.email = None
    if member.erased_at is None:
        member.erased_at = now
    return Erasure(
        member=member.id,
        erased_id=stand_in,
        sessions_reassigned=len(sessions),
        badges_reassigned=len(badges),
        statements_reassigned=len(statements),
        consumables_reassigned=len(takes),
        dead_letters_scrubbed=scrubbed,
        notes_scrubbed=notes,
        cards_removed=len(cards),
        qualifications_removed=len(qualifications),
        parties_removed=parties,
        logins_disabled=disabled,
    )
