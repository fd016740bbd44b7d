"""`/members`: the registry's members, a member's data export, and erasure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from services.api import queries
from services.api.deps import AdminUser, DbDep, PersonUser, StaffUser, StateDep
from services.api.floor_erasure import erase_from_floor
from services.api.privacy import (
    dead_letters_naming,
    erase_member,
    member_marks,
    runs_naming,
    statements_of,
)
from services.api.schemas.cards import CardPublic
from services.api.schemas.common import Id
from services.api.schemas.members import (
    AuditExport,
    DeadLetterExport,
    ErasurePublic,
    LoginPublic,
    MemberCreate,
    MemberExport,
    MemberPublic,
    MemberUpdate,
    StatementExport,
)
from services.api.schemas.qualifications import QualificationPublic
from services.api.schemas.sessions import BadgePublic, SessionPublic
from services.ledger import (
    MemberRow,
)
from services.ledger.pseudonyms import PSEUDONYM_PATTERN

router = APIRouter(prefix="/members", tags=["members"])

MemberId = Annotated[Id, Path(description="The member's id")]
Pseudonym = Annotated[
    str,
    Path(
        description="A member's pseudonym as the dashboards show it: `m-` and ten hex digits",
        pattern=PSEUDONYM_PATTERN,
    ),
]


def member_or_404(db: DbDep, member_id: str) -> MemberRow:
    """The member, or a 404 naming them."""
    row = queries.member(db, member_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no member {member_id!r}")
    return row


@router.get("")
def list_members(staff: StaffUser, db: DbDep) -> list[MemberPublic]:
    """Every member, by id."""
    return [MemberPublic.model_validate(m) for m in queries.members(db)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_member(body: MemberCreate, staff: StaffUser, state: StateDep) -> MemberPublic:
    """Register a member under the id the gateways will send."""
    row = state.registry.add_member(member_id=body.id, name=body.name, email=body.email)
    return MemberPublic.model_validate(row)


@router.get(
    "/by-pseudonym/{pseudonym}",
    responses={
        404: {"description": "Nobody has this pseudonym now (unknown, or erased)"},
        409: {"description": "Two members share this pseudonym"},
    },
)
def member_by_pseudonym(
    pseudonym: Pseudonym, staff: StaffUser, state: StateDep, db: DbDep
) -> MemberPublic:
    """The member behind a dashboard pseudonym: staff only, as the wall screen shows none."""
    return MemberPublic.model_validate(resolve_pseudonym(state, db, pseudonym))


def resolve_pseudonym(state: StateDep, db: DbDep, pseudonym: str) -> MemberRow:
    """The one living member behind a pseudonym, or a 404 (or a 409 for a clash)."""
    key = state.settings.pseudonym_key
    if key is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail="this api has no pseudonym key (--pseudonym-key): it resolves no pseudonym",
        )
    found = queries.members_of_pseudonym(db, pseudonym, key)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no member is {pseudonym!r}")
    if len(found) > 1:
        names = ", ".join(row.id for row in found)
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"{pseudonym!r} is shared by members {names}"
        )
    return found[0]


@router.get("/{member_id}", responses={403: {"description": "Another member's data"}})
def read_member(member_id: MemberId, user: PersonUser, db: DbDep) -> MemberPublic:
    """One member: staff see anyone, a member only themselves."""
    user.check_member(member_id)
    return MemberPublic.model_validate(member_or_404(db, member_id))


@router.patch("/{member_id}")
def update_member(
    member_id: MemberId, body: MemberUpdate, staff: StaffUser, state: StateDep, db: DbDep
) -> MemberPublic:
    """Change a member's name or e-mail."""
    row = member_or_404(db, member_id)
    if row.erased_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="an erased member stays erased")
    for field, value in body.model_dump(exclude_unset=True).items():
        if field == "name" and value is None:
            continue
        setattr(row, field, value)
    db.commit()
    state.people.forget()
    return MemberPublic.model_validate(row)


@router.get("/{member_id}/export", responses={403: {"description": "Another member's data"}})
def export_member(
    member_id: MemberId, user: PersonUser, state: StateDep, db: DbDep
) -> MemberExport:
    """Everything held about a member, for the member to download (JSON)."""
    user.check_member(member_id)
    row = member_or_404(db, member_id)
    records = queries.member_records(db, member_id)
    marks = member_marks(db, row)
    return MemberExport(
        exported_at=state.clock(),
        member=MemberPublic.model_validate(row),
        cards=[CardPublic.model_validate(c) for c in records.cards],
        qualifications=[QualificationPublic.model_validate(q) for q in records.qualifications],
        sessions=[SessionPublic.model_validate(s) for s in records.sessions],
        badges=[BadgePublic.model_validate(b) for b in records.badges],
        statements=[StatementExport.model_validate(s) for s in statements_of(db, member_id)],
        dead_letters=[
            DeadLetterExport(
                id=letter.id,
                received_at=letter.received_at,
                topic=letter.topic,
                message=letter.raw.decode("utf-8", errors="replace"),
                error=letter.error,
                field=letter.field,
            )
            for letter in dead_letters_naming(db, marks)
        ],
        audit=[AuditExport.model_validate(run) for run in runs_naming(db, marks)],
        logins=[LoginPublic.model_validate(u) for u in records.logins],
        parties=[queries.party_public(db, p) for p in records.parties],
        payments=[
            queries.payment_public(p) for p in state.billing.ledger.member_payments(member_id)
        ],
        credit=[
            queries.movement_public(m) for m in state.billing.ledger.credit_movements(member_id)
        ],
        packs=[queries.pack_public(p) for p in state.billing.ledger.member_packs(member_id)],
        consumables=[
            queries.take_public(t) for t in queries.takes(state, member=member_id, limit=None)
        ],
    )


@router.post(
    "/{member_id}/erase",
    responses={503: {"description": "Erased in the ledger, not yet on the broker: erase again"}},
)
def erase(member_id: MemberId, admin: AdminUser, state: StateDep, db: DbDep) -> ErasurePublic:
    """Erase a member's personal data everywhere; her sessions keep their amounts, reassigned."""
    row = member_or_404(db, member_id)
    erasure = erase_member(db, row, secret=state.settings.secret, now=state.clock())
    db.commit()
    state.people.forget()  # the floor names her no more
    # The member's cards are gone: every machine they were on must stop granting them.
    state.acl.everything_changed()
    # After the commit: a broker that is away leaves the ledger erased, and erasing again
    # (which finds nothing more to reassign there) finishes the broker's part.
    republished = erase_from_floor(
        state.floor, state.link, member=erasure.member, stand_in=erasure.erased_id
    )
    return ErasurePublic(
        member=erasure.member,
        erased_id=erasure.erased_id,
        sessions_reassigned=erasure.sessions_reassigned,
        badges_reassigned=erasure.badges_reassigned,
        statements_reassigned=erasure.statements_reassigned,
        dead_letters_scrubbed=erasure.dead_letters_scrubbed,
        notes_scrubbed=erasure.notes_scrubbed,
        retained_states_republished=republished,
        cards_removed=erasure.cards_removed,
        qualifications_removed=erasure.qualifications_removed,
        parties_removed=erasure.parties_removed,
        logins_disabled=erasure.logins_disabled,
        consumables_reassigned=erasure.consumables_reassigned,
    )
