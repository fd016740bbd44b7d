"""A member's billing parties: checked by `services.fiscal`, stored flat, one the default.

A party is stored only once `services.fiscal.BillingParty` accepts it, so the documents made
from it later cannot fail on it. A refusal is a `RegistryError` naming the flat field (`cap`,
not `address.cap`) and saying why, without echoing the value back. A member has at most one
default party; the first one she gets is it, and deleting it hands the role to her oldest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.fiscal import BillingParty, FiscalInputError
from services.ledger.errors import RegistryError
from services.ledger.models import BillingPartyRow, CardRow, MemberRow

ADDRESS_FIELDS = ("street", "civic_number", "cap", "comune", "provincia", "nazione")
PARTY_FIELDS = (
    "kind",
    "name",
    "first_name",
    "last_name",
    "fiscal_code",
    "vat_number",
    *ADDRESS_FIELDS,
    "recipient_code",
    "pec",
)

# Why an identifier was refused, in words that do not repeat the value (never echo input).
_REASONS = {
    "fiscal_code": "not a valid codice fiscale (its check character does not match)",
    "vat_number": "not a valid partita IVA (its check digit does not match)",
    "cap": "a CAP is five digits",
    "provincia": "not the sigla of an Italian province",
    "nazione": "not a two-letter country code",
    "recipient_code": "an SdI recipient code is seven letters or digits",
    "pec": "not an e-mail address",
}


def _refusal(error: ValidationError) -> RegistryError:
    """The first problem pydantic found, as a RegistryError naming the flat field."""
    detail = error.errors()[0]
    loc = [str(part) for part in detail["loc"]]
    inner = detail.get("ctx", {}).get("error")
    if isinstance(inner, FiscalInputError):
        return RegistryError(inner.field, inner.reason)
    field = loc[-1] if loc else "(party)"
    if detail["type"] == "value_error":
        return RegistryError(field, _REASONS.get(field, "cannot be written on a fiscal document"))
    return RegistryError(field, detail["msg"])


def checked_party(values: Mapping[str, Any]) -> BillingParty:
    """A party from flat fields (the address's among them), or a RegistryError naming one."""
    given = {k: v for k, v in values.items() if k in PARTY_FIELDS and v is not None}
    address = {k: given.pop(k) for k in ADDRESS_FIELDS if k in given}
    try:
        return BillingParty.model_validate({**given, "address": address})
    except ValidationError as err:
        raise _refusal(err) from err


def flat_fields(party: BillingParty) -> dict[str, Any]:
    """A checked party as the table's columns."""
    fields = party.model_dump(exclude={"address"})
    fields["kind"] = party.kind.value
    return {**fields, **party.address.model_dump()}


def row_fields(row: BillingPartyRow) -> dict[str, Any]:
    """A stored party's fiscal fields, flat, as `checked_party` takes them."""
    return {field: getattr(row, field) for field in PARTY_FIELDS}


def fiscal_party(row: BillingPartyRow) -> BillingParty:
    """A stored party as the fiscal documents take it."""
    return checked_party(row_fields(row))


def member_parties(db: Session, member: str) -> Sequence[BillingPartyRow]:
    """A member's parties, oldest first."""
    query = select(BillingPartyRow).where(BillingPartyRow.member == member)
    return db.scalars(query.order_by(BillingPartyRow.id)).all()


def party_cards(db: Session, party_id: int) -> Sequence[CardRow]:
    """The cards whose sessions go to a party."""
    query = select(CardRow).where(CardRow.party_id == party_id).order_by(CardRow.issued_at)
    return db.scalars(query).all()


def _check_label(label: str) -> str:
    label = label.strip()
    if not 1 <= len(label) <= 80:
        raise RegistryError("label", "a label has 1 to 80 characters")
    return label


def add_party(
    db: Session, member: MemberRow, *, label: str, party: BillingParty, default: bool, now: datetime
) -> BillingPartyRow:
    """Give a member a party; her first is her default whatever was asked."""
    if member.erased_at is not None:
        raise RegistryError("member", "an erased member has no parties")
    first = not member_parties(db, member.id)
    row = BillingPartyRow(
        member=member.id,
        label=_check_label(label),
        is_default=False,
        created_at=now,
        **flat_fields(party),
    )
    db.add(row)
    db.flush()
    if first or default:
        make_default(db, row)
    return row


def change_party(
    db: Session, row: BillingPartyRow, *, label: str | None, changes: Mapping[str, Any]
) -> BillingPartyRow:
    """Change a party's label or fiscal fields; the whole party is checked again."""
    party = checked_party({**row_fields(row), **changes})
    if label is not None:
        row.label = _check_label(label)
    for field, value in flat_fields(party).items():
        setattr(row, field, value)
    return row


def make_default(db: Session, row: BillingPartyRow) -> None:
    """Make a party its member's default, and no other."""
    db.execute(
        update(BillingPartyRow)
        .where(BillingPartyRow.member == row.member, BillingPartyRow.id != row.id)
        .values(is_default=False)
    )
    row.is_default = True


def remove_party(db: Session, row: BillingPartyRow) -> None:
    """Delete a party: its cards go back to the default, and a lost default goes to the oldest."""
    db.execute(update(CardRow).where(CardRow.party_id == row.id).values(party_id=None))
    db.delete(row)
    db.flush()
    if row.is_default:
        rest = member_parties(db, row.member)
        if rest:
            make_default(db, rest[0])


def assign_card(db: Session, card: CardRow, party: BillingPartyRow | None) -> None:
    """Send a card's sessions to one of its member's parties (None: to her default)."""
    if party is not None and party.member != card.member:
        raise RegistryError("card_hash", "the card belongs to another member")
    card.party_id = None if party is None else party.id


def erase_parties(db: Session, member: str) -> int:
    """Delete every party of a member (her erasure); her cards are going too."""
    rows = member_parties(db, member)
    db.execute(update(CardRow).where(CardRow.member == member).values(party_id=None))
    for row in rows:
        db.delete(row)
    return len(rows)
