"""The api's read layer: what routes and pages read from the ledger, the floor and billing.

Routes and pages ask here and nowhere else, so a page shows what the api returns. Writes stay
with the route that makes them (or the registry and billing services it calls).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract import BadgeDecision, MachineState
from services.api.deps import Principal
from services.api.floor import MachineLive
from services.api.models import ApiUserRow
from services.api.schemas.common import Id, Instant
from services.api.schemas.consumables import ConsumablePublic, TakePublic
from services.api.schemas.credit import MovementPublic, PackProductPublic, PackPublic
from services.api.schemas.floor import FloorPublic, MachineTile
from services.api.schemas.parties import PartyPublic
from services.api.schemas.payments import PaymentPublic
from services.api.schemas.review import SessionConflictPublic
from services.api.schemas.workshop import WorkshopFiscalPublic
from services.api.state import ApiState
from services.billing.allocation import CostPool
from services.billing.errors import BillingError
from services.billing.fiscal_profile import fiscal_readiness
from services.billing.months import Month
from services.billing.payments import StatementPayment, payments_of
from services.billing.records import StoredStatement
from services.billing.store import StoredItem, StoredPayment, StoredTake
from services.billing.store.prepaid import PackProduct, StoredMovement, StoredPack
from services.billing.tariffs import Tariff
from services.ledger import (
    AccessEntry,
    BadgeEventRow,
    BillingPartyRow,
    CardRow,
    DeadLetterRow,
    HeldSessionRow,
    MachineRow,
    MemberRow,
    QualificationRow,
    ReviewQueue,
    SessionBook,
    SessionRow,
    members_behind,
)
from services.ledger import parties as ledger_parties

log = logging.getLogger(__name__)


# --- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFilter:
    """Which sessions to read: of a member, of a machine, started in [since, until)."""

    member: Id | None = None
    machine: Id | None = None
    since: Instant | None = None
    until: Instant | None = None
    limit: int = 1000
    offset: int = 0


def find_sessions(db: Session, site: str, wanted: SessionFilter) -> Sequence[SessionRow]:
    """Sessions of the site matching the filter, oldest first."""
    query = (
        select(SessionRow)
        .where(SessionRow.site == site)
        .order_by(SessionRow.started, SessionRow.id)
        .limit(wanted.limit)
        .offset(wanted.offset)
    )
    if wanted.member is not None:
        query = query.where(SessionRow.member == wanted.member)
    if wanted.machine is not None:
        query = query.where(SessionRow.machine == wanted.machine)
    if wanted.since is not None:
        query = query.where(SessionRow.started >= wanted.since)
    if wanted.until is not None:
        query = query.where(SessionRow.started < wanted.until)
    return db.scalars(query).all()


# --- members, cards, qualifications, logins ---------------------------------------------------


def member(db: Session, member_id: str) -> MemberRow | None:
    """A member by id, erased or not; None if there is none."""
    return db.get(MemberRow, member_id)


def members(db: Session, *, with_erased: bool = True) -> Sequence[MemberRow]:
    """Members by id; without the erased when a form offers them to choose from."""
    query = select(MemberRow).order_by(MemberRow.id)
    if not with_erased:
        query = query.where(MemberRow.erased_at.is_(None))
    return db.scalars(query).all()


def site_cards(db: Session, site: str) -> Sequence[CardRow]:
    """Every card of the site, by member."""
    return db.scalars(select(CardRow).where(CardRow.site == site).order_by(CardRow.member)).all()


def card(db: Session, site: str, card_hash: str) -> CardRow | None:
    """A card of the site by its keyed hash; None if there is none."""
    return db.get(CardRow, (site, card_hash))


def qualifications(
    db: Session,
    site: str,
    *,
    member: str | None = None,
    machine: str | None = None,
    by_machine: bool = False,
) -> Sequence[QualificationRow]:
    """The site's qualifications, by member then machine (or by machine then member)."""
    order = (
        (QualificationRow.machine, QualificationRow.member)
        if by_machine
        else (QualificationRow.member, QualificationRow.machine)
    )
    query = select(QualificationRow).where(QualificationRow.site == site).order_by(*order)
    if member is not None:
        query = query.where(QualificationRow.member == member)
    if machine is not None:
        query = query.where(QualificationRow.machine == machine)
    return db.scalars(query).all()


def qualification(db: Session, site: str, member: str, machine: str) -> QualificationRow | None:
    """One member's qualification on one machine; None if there is none."""
    return db.get(QualificationRow, (member, site, machine))


def logins(db: Session) -> Sequence[ApiUserRow]:
    """Every login, by id."""
    return db.scalars(select(ApiUserRow).order_by(ApiUserRow.id)).all()


def login(db: Session, user_id: int) -> ApiUserRow | None:
    """A login by id; None if there is none."""
    return db.get(ApiUserRow, user_id)


@dataclass(frozen=True, slots=True)
class MemberRecords:
    """Every row that names a member, for the member's data export."""

    cards: Sequence[CardRow]
    qualifications: Sequence[QualificationRow]
    sessions: Sequence[SessionRow]
    badges: Sequence[BadgeEventRow]
    logins: Sequence[ApiUserRow]
    parties: Sequence[BillingPartyRow]


def member_records(db: Session, member_id: str) -> MemberRecords:
    """A member's cards, qualifications, sessions, badges, logins and parties, oldest first."""
    return MemberRecords(
        cards=db.scalars(
            select(CardRow).where(CardRow.member == member_id).order_by(CardRow.issued_at)
        ).all(),
        qualifications=db.scalars(
            select(QualificationRow)
            .where(QualificationRow.member == member_id)
            .order_by(QualificationRow.machine)
        ).all(),
        sessions=db.scalars(
            select(SessionRow).where(SessionRow.member == member_id).order_by(SessionRow.started)
        ).all(),
        badges=db.scalars(
            select(BadgeEventRow)
            .where(BadgeEventRow.member == member_id)
            .order_by(BadgeEventRow.at)
        ).all(),
        logins=db.scalars(
            select(ApiUserRow).where(ApiUserRow.member == member_id).order_by(ApiUserRow.id)
        ).all(),
        parties=ledger_parties.member_parties(db, member_id),
    )


def parties(db: Session, member_id: str) -> Sequence[BillingPartyRow]:
    """A member's billing parties, oldest first."""
    return ledger_parties.member_parties(db, member_id)


def party(db: Session, party_id: int) -> BillingPartyRow | None:
    """A billing party by id; None if there is none."""
    return db.get(BillingPartyRow, party_id)


def party_cards(db: Session, party_id: int) -> Sequence[CardRow]:
    """The cards whose sessions go to a party."""
    return ledger_parties.party_cards(db, party_id)


def party_public(db: Session, row: BillingPartyRow) -> PartyPublic:
    """A party as the api returns it, with the cards whose sessions go to it."""
    public = PartyPublic.model_validate(row)
    public.cards = [card.card_hash for card in party_cards(db, row.id)]
    return public


# --- the floor --------------------------------------------------------------------------------


def tile(state: ApiState, user: Principal, live: MachineLive, name: str | None) -> MachineTile:
    """A machine's tile, with other members' ids hidden from a member's login."""
    shown = user.shown_member(live.member)
    return MachineTile(
        machine=live.machine,
        name=name or live.machine,
        state=live.shown_state.value,
        reported_state=None if live.state is None else live.state.value,
        member=shown,
        member_name=None if shown is None else state.member_names().get(shown, shown),
        session=live.session if shown else None,
        since=None if live.since_ms is None else datetime.fromtimestamp(live.since_ms / 1000, UTC),
        amps=live.amps,
        sparkline=list(state.floor.sparkline(live.machine)),
        gateway=live.gateway,
        gateway_online=live.gateway_online,
        out_of_order=live.out_of_order,
        tasks_due=live.tasks_due,
    )


def floor_now(state: ApiState, user: Principal) -> FloorPublic:
    """Registered machines and any machine heard on the broker, by id."""
    names = state.machine_names()
    heard = {live.machine: live for live in state.floor.machines()}
    tiles = [
        tile(state, user, heard.get(machine) or state.floor.machine(machine), names.get(machine))
        for machine in sorted(names.keys() | heard.keys())
    ]
    return FloorPublic(
        site=state.settings.site, broker_connected=state.link.connected, machines=tiles
    )


def members_of_pseudonym(db: Session, display: str, key: str) -> list[MemberRow]:
    """The members behind a dashboard pseudonym; erased members are never matched."""
    living = db.scalars(
        select(MemberRow.id).where(MemberRow.erased_at.is_(None)).order_by(MemberRow.id)
    ).all()
    return [
        row
        for member in members_behind(display, living, key)
        if (row := db.get(MemberRow, member)) is not None
    ]


def member_cards(state: ApiState, member_id: str) -> Sequence[CardRow]:
    """A member's cards."""
    return state.registry.cards(member_id)


# --- machines, access lists, tariffs and cost pools --------------------------------------------


def machines(state: ApiState) -> Sequence[MachineRow]:
    """The site's registered machines, by id."""
    return state.registry.machines(site=state.settings.site)


def machine(state: ApiState, machine_id: str) -> MachineRow | None:
    """A machine of the site; None if there is none."""
    return state.registry.machine(state.settings.site, machine_id)


def access_list(state: ApiState, machine_id: str) -> Sequence[AccessEntry]:
    """The cards a machine grants now."""
    return state.registry.access_list(state.settings.site, machine_id, at=state.clock())


def machines_granting(state: ApiState, member_id: str) -> list[str]:
    """The machines whose access list carries this member's cards."""
    site, now = state.settings.site, state.clock()
    return [
        m.id
        for m in state.registry.machines(site=site)
        if state.registry.is_qualified(member_id, site, m.id, at=now)
    ]


def tariffs(state: ApiState, machine_id: str | None = None) -> list[Tariff]:
    """Tariffs of the site's machines (and site-wide ones), of one machine or all, oldest first."""
    site = state.settings.site
    return [
        t
        for t in state.billing.ledger.tariffs()
        if t.site in (None, site) and (machine_id is None or t.machine in (None, machine_id))
    ]


def pools(state: ApiState, month: Month) -> list[CostPool]:
    """A month's cost pools, in the order they were entered."""
    return state.billing.ledger.pools(month)


# --- the workshop's fiscal profile -----------------------------------------------------------


def workshop_fiscal(state: ApiState) -> WorkshopFiscalPublic:
    """The workshop's fiscal profile from the billing settings, and what fattura mode lacks."""
    workshop = state.billing.settings.workshop
    readiness = fiscal_readiness(workshop)
    return WorkshopFiscalPublic(
        profile=workshop.fiscal,
        billing_mode=readiness.mode,
        complete_for_fattura=readiness.complete_for_fattura,
        missing=list(readiness.missing),
    )


# --- statements -------------------------------------------------------------------------------


def statement(state: ApiState, statement_id: int) -> StoredStatement | None:
    """A statement or credit note by id, with its lines; None if there is none."""
    return state.billing.ledger.statement_by_id(statement_id)


def statements(state: ApiState, month: Month, member: str | None = None) -> list[StoredStatement]:
    """A month's statements and credit notes, of everyone or of one member only."""
    if member is None:
        return state.billing.ledger.statements(month)
    return state.billing.ledger.member_statements(month, member)


def statement_payments(
    state: ApiState, statements: list[StoredStatement]
) -> dict[int, StatementPayment]:
    """What each issued statement among some was paid, its due day and state, as of today."""
    today = state.clock().astimezone(state.billing.tz).date()
    return payments_of(state.billing, statements, today)


def payment_public(payment: StoredPayment) -> PaymentPublic:
    """A booked payment as the api shows it."""
    return PaymentPublic(
        id=payment.id,
        booked=payment.booked,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        payer=payment.payer,
        remittance=payment.remittance,
        creditor_reference=payment.creditor_reference,
        statement_id=payment.statement_id,
        statement_number=payment.statement_number,
        member=payment.member,
        matched_by=payment.matched_by.value if payment.matched_by else None,
        not_ours=payment.not_ours,
        imported_at=payment.imported_at,
    )


def payments(
    state: ApiState, *, unmatched: bool | None = None, limit: int = 500
) -> list[StoredPayment]:
    """Booked payments, newest first: all, those waiting for a coordinator, or those settled."""
    return state.billing.ledger.payments(unmatched=unmatched, limit=limit)


def payment(state: ApiState, payment_id: int) -> StoredPayment | None:
    """One booked payment; None if there is none."""
    return state.billing.ledger.payment(payment_id)


def costs_so_far(state: ApiState, month: Month, member_id: str) -> int | None:
    """What the member's statements (one per party) would total if the month were billed now."""
    try:
        computed = state.billing.compute(month)
    except BillingError as err:
        log.info("no costs so far for %s in %s: %s", member_id, month, err)
        return None
    return sum(
        computed_statement.total_cents
        for computed_statement in computed.statements
        if computed_statement.member.id == member_id
    )


# --- review -----------------------------------------------------------------------------------


def review_queue(state: ApiState) -> ReviewQueue:
    """The ledger's review queue: held sessions and conflicting copies."""
    return ReviewQueue(state.engine, clock=state.clock)


def held_sessions(state: ApiState) -> Sequence[HeldSessionRow]:
    """Sessions held from billing and waiting for a decision, oldest first."""
    return review_queue(state).held(site=state.settings.site)


def session_conflicts(state: ApiState, limit: int = 100) -> list[SessionConflictPublic]:
    """Conflicting copies of booked sessions, newest first, both bodies decoded."""
    rows = review_queue(state).conflicts(site=state.settings.site, limit=limit)
    return [SessionConflictPublic.model_validate(row) for row in rows]


def dead_letters(state: ApiState, limit: int = 100) -> Sequence[DeadLetterRow]:
    """Rejected messages not yet replayed, newest first."""
    return SessionBook(state.engine).dead_letters(limit=limit)


def end_reasons(db: Session, session_ids: Sequence[str]) -> dict[str, str]:
    """Why each of some booked sessions ended, by session id."""
    if not session_ids:
        return {}
    query = select(SessionRow.id, SessionRow.end_reason).where(SessionRow.id.in_(session_ids))
    return {session_id: reason for session_id, reason in db.execute(query)}


@dataclass(frozen=True, slots=True)
class UnattributedUse:
    """A machine drawing current with no session open: used without anyone badging in."""

    machine: str
    amps: float


def denied_badges(
    db: Session,
    site: str,
    *,
    since: datetime,
    until: datetime | None = None,
    machine: str | None = None,
    limit: int = 20,
) -> Sequence[BadgeEventRow]:
    """Cards the gateways refused, newest first (of one machine, or every one)."""
    query = (
        select(BadgeEventRow)
        .where(
            BadgeEventRow.site == site,
            BadgeEventRow.decision == BadgeDecision.DENIED.value,
            BadgeEventRow.at >= since,
        )
        .order_by(BadgeEventRow.at.desc())
        .limit(limit)
    )
    if until is not None:
        query = query.where(BadgeEventRow.at < until)
    if machine is not None:
        query = query.where(BadgeEventRow.machine == machine)
    return db.scalars(query).all()


def idle_amps(state: ApiState) -> dict[str, float]:
    """Each working machine's idle threshold: at or above it, the motor is on."""
    return {m.id: m.idle_amps for m in machines(state) if m.retired_at is None}


def unattributed_use(state: ApiState) -> list[UnattributedUse]:
    """Machines locked (no session) yet drawing at least their idle current, by id."""
    thresholds = idle_amps(state)
    return [
        UnattributedUse(live.machine, live.amps)
        for live in state.floor.machines()
        if live.machine in thresholds
        and live.state is MachineState.LOCKED
        and live.gateway_online is not False
        and live.amps is not None
        and live.amps >= thresholds[live.machine]
    ]


def member_names(db: Session) -> dict[str, str]:
    """Every member's name by id (an erased member's is its stand-in)."""
    return {member_id: name for member_id, name in db.execute(select(MemberRow.id, MemberRow.name))}


def photographed(state: ApiState) -> dict[str, datetime]:
    """The site's machines that have a photo, with when it last changed (for the image's URL)."""
    return state.registry.photographed(state.settings.site)


def movement_public(movement: StoredMovement) -> MovementPublic:
    """A credit movement as the api shows it."""
    return MovementPublic(**{**asdict(movement), "kind": movement.kind.value})


def pack_public(pack: StoredPack) -> PackPublic:
    """A member's pack as the api shows it."""
    return PackPublic(**{**asdict(pack), "meter": pack.meter.value})


def product_public(product: PackProduct) -> PackProductPublic:
    """A pack on sale as the api shows it."""
    return PackProductPublic(**{**asdict(product), "meter": product.meter.value})


def consumable_public(item: StoredItem) -> ConsumablePublic:
    """A catalogue item as the api shows it."""
    return ConsumablePublic(
        id=item.id,
        name=item.name,
        unit=item.unit,
        price_cents=item.price_cents,
        vat_bp=item.vat_bp,
        stock=item.stock,
        low_stock=item.low_stock,
        low=item.low,
        machines=[machine for _site, machine in item.machines],
        retired=item.retired,
    )


def take_public(take: StoredTake) -> TakePublic:
    """A take as the api shows it."""
    return TakePublic(
        id=take.id,
        item_id=take.item_id,
        item=take.item,
        unit=take.unit,
        member=take.member,
        machine=take.machine,
        quantity=take.quantity,
        unit_price_cents=take.unit_price_cents,
        vat_bp=take.vat_bp,
        net_cents=take.net_cents,
        taken_at=take.taken_at,
        recorded_by=take.recorded_by,
        party=take.party_id,
    )


def consumables(
    state: ApiState, machine_id: str | None = None, *, retired: bool = True
) -> list[StoredItem]:
    """The catalogue (`retired`: with the retired items), or what one machine's page offers."""
    if machine_id is None:
        return state.billing.ledger.items(retired=retired)
    return state.billing.ledger.items(site=state.settings.site, machine=machine_id)


def consumable(state: ApiState, item_id: int) -> StoredItem | None:
    """One catalogue item; None if there is none."""
    return state.billing.ledger.item(item_id)


def low_stock(state: ApiState) -> list[StoredItem]:
    """Items at or below their threshold."""
    return state.billing.ledger.low_stock()


def takes(
    state: ApiState,
    *,
    member: str | None = None,
    item_id: int | None = None,
    limit: int | None = 200,
) -> list[StoredTake]:
    """Takes, newest first: everyone's, one member's, or one item's."""
    return state.billing.ledger.takes(member=member, item_id=item_id, limit=limit)
