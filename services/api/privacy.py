"""A member's data: all of it as one export, and erasure that keeps the amounts."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.api.accounts import disable_user
from services.api.models import ApiUserRow
from services.ledger import (
    BadgeEventRow,
    CardRow,
    MachineStateRow,
    MemberRow,
    QualificationRow,
    SessionRow,
)

ERASED_NAME = "(erased)"


def pseudonym(member: str, secret: str) -> str:
    """The stable stand-in id an erased member's past sessions are booked under."""
    digest = hmac.new(secret.encode(), b"erase:" + member.encode(), hashlib.sha256).hexdigest()
    return f"erased-{digest[:16]}"


def _erased_card(card: str, secret: str) -> str:
    # A card hash links sessions to a physical card: replace it by one that links to nothing.
    return hmac.new(secret.encode(), b"erased-card:" + card.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a member changed."""

    member: str
    pseudonym: str
    sessions_pseudonymised: int
    badges_pseudonymised: int
    cards_removed: int
    qualifications_removed: int
    logins_disabled: int


def erase_member(db: Session, member: MemberRow, *, secret: str, now: datetime) -> Erasure:
    """Drop a member's personal data; past sessions stay, with their amounts, under a pseudonym."""
    stand_in = pseudonym(member.id, secret)
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
    cards = db.scalars(select(CardRow).where(CardRow.member == member.id)).all()
    qualifications = db.scalars(
        select(QualificationRow).where(QualificationRow.member == member.id)
    ).all()
    for gone in (*cards, *qualifications):
        db.delete(gone)
    logins = db.scalars(
        select(ApiUserRow).where(ApiUserRow.member == member.id, ApiUserRow.disabled_at.is_(None))
    ).all()
    for login in logins:
        disable_user(db, login, now=now)
    member.name = ERASED_NAME
    member.email = None
    member.erased_at = now
    return Erasure(
        member=member.id,
        pseudonym=stand_in,
        sessions_pseudonymised=len(sessions),
        badges_pseudonymised=len(badges),
        cards_removed=len(cards),
        qualifications_removed=len(qualifications),
        logins_disabled=len(logins),
    )
