"""Tables of the ledger as typed SQLAlchemy 2 models: what ingest books, and the registry.

The registry (members, cards, machines, qualifications) says who may use what; the bookings
(sessions, badge events, machine states, dead letters) say what happened. Bookings keep `member`
and `machine` as plain ids, without foreign keys: a session from a machine not yet registered is
still booked, and erasing a member reassigns her past sessions to her erased id without
touching them otherwise. Billing's tables (tariffs, cost pools, statements) come with billing's
own migration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.ledger.types import UtcDateTime

# Named constraints so that migrations can alter them on every backend (SQLite batch mode too).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LEN = 64
MESSAGE_ID_LEN = 128
SESSION_ID_LEN = 36
CARD_HASH_LEN = 64
NAME_LEN = 200
PARTY_LABEL_LEN = 80


class Base(DeclarativeBase):
    """Base of every ledger table."""

    metadata = MetaData(naming_convention=NAMING)


class SessionRow(Base):
    """A closed session of a member at a machine, booked once however often it arrives."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_site_machine_started", "site", "machine", "started"),
        Index("ix_sessions_member_started", "member", "started"),
    )

    id: Mapped[str] = mapped_column(String(SESSION_ID_LEN), primary_key=True)
    site: Mapped[str] = mapped_column(String(ID_LEN))
    machine: Mapped[str] = mapped_column(String(ID_LEN))
    member: Mapped[str] = mapped_column(String(ID_LEN))
    card_hash: Mapped[str] = mapped_column(String(64))
    started: Mapped[datetime] = mapped_column(UtcDateTime())
    ended: Mapped[datetime] = mapped_column(UtcDateTime())
    unlocked_s: Mapped[float]
    running_s: Mapped[float]
    idle_s: Mapped[float]
    energy_wh: Mapped[float]
    end_reason: Mapped[str] = mapped_column(String(16))
    clock_ok: Mapped[bool]
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deliveries: Mapped[int] = mapped_column(Integer, default=1)


class BadgeEventRow(Base):
    """A card presented at a machine and the gateway's decision."""

    __tablename__ = "badge_events"
    __table_args__ = (Index("ix_badge_events_site_machine_at", "site", "machine", "at"),)

    id: Mapped[str] = mapped_column(String(MESSAGE_ID_LEN), primary_key=True)
    site: Mapped[str] = mapped_column(String(ID_LEN))
    machine: Mapped[str] = mapped_column(String(ID_LEN))
    card_hash: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    member: Mapped[str | None] = mapped_column(String(ID_LEN))
    session: Mapped[str | None] = mapped_column(String(SESSION_ID_LEN))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeadLetterRow(Base):
    """A rejected MQTT message, kept with (a bounded prefix of) its raw bytes and its size."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    topic: Mapped[str] = mapped_column(Text)
    # At most DEAD_LETTER_KEEP_BYTES of the message; `raw_size` says how long it was.
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_size: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(255))
    # Set when a replay booked the message after a fix; kept for the audit trail, not deleted.
    replayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class HeldSessionRow(Base):
    """A booked session kept out of billing until a coordinator releases or dismisses it."""

    __tablename__ = "held_sessions"

    session_id: Mapped[str] = mapped_column(String(SESSION_ID_LEN), primary_key=True)
    site: Mapped[str] = mapped_column(String(ID_LEN))
    member: Mapped[str] = mapped_column(String(ID_LEN))
    reason: Mapped[str] = mapped_column(String(NAME_LEN))
    held_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    # `released` (billed from then on) or `dismissed` (never billed); none while it waits.
    outcome: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(NAME_LEN))


class SessionConflictRow(Base):
    """A session delivered again with a body other than the one booked: kept for review."""

    __tablename__ = "session_conflicts"
    __table_args__ = (Index("ix_session_conflicts_session_id", "session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(SESSION_ID_LEN))
    site: Mapped[str] = mapped_column(String(ID_LEN))
    topic: Mapped[str] = mapped_column(Text)
    # The machine's gateway in the registry when the copy came, if the machine is registered.
    gateway: Mapped[str | None] = mapped_column(String(ID_LEN))
    booked: Mapped[str] = mapped_column(Text)  # the booked session, as contract JSON
    delivered: Mapped[str] = mapped_column(Text)  # the conflicting copy, as contract JSON
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class MachineStateRow(Base):
    """The latest known state of each machine."""

    __tablename__ = "machine_states"

    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    machine: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    member: Mapped[str | None] = mapped_column(String(ID_LEN))
    session: Mapped[str | None] = mapped_column(String(SESSION_ID_LEN))
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    # The gateway's message time breaks ties between two changes with the same `since`.
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MemberRow(Base):
    """A member of the workshop, by the id the gateways put on the wire."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    email: Mapped[str | None] = mapped_column(String(NAME_LEN))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set when the member's personal data was erased; the row stays so the id stays taken.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CardRow(Base):
    """An RFID card of a member, stored only as the site's keyed hash of its UID."""

    __tablename__ = "cards"
    __table_args__ = (Index("ix_cards_member", "member"),)

    # The hash is keyed with the site's secret, so the same card hashes differently per site.
    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    card_hash: Mapped[str] = mapped_column(String(CARD_HASH_LEN), primary_key=True)
    member: Mapped[str] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    label: Mapped[str | None] = mapped_column(String(NAME_LEN))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The billing party this card's sessions go to; none: the member's default party.
    party_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_parties.id", ondelete="SET NULL")
    )


class BillingPartyRow(Base):
    """Whom a member's documents are made out to: herself, her company, a project.

    The fields are those of `services.fiscal.BillingParty`, the address flattened; a row is
    stored only once that model accepts it.
    """

    __tablename__ = "billing_parties"
    __table_args__ = (Index("ix_billing_parties_member", "member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member: Mapped[str] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(PARTY_LABEL_LEN))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(80))
    first_name: Mapped[str | None] = mapped_column(String(60))
    last_name: Mapped[str | None] = mapped_column(String(60))
    fiscal_code: Mapped[str | None] = mapped_column(String(16))
    vat_number: Mapped[str | None] = mapped_column(String(11))
    street: Mapped[str] = mapped_column(String(60))
    civic_number: Mapped[str | None] = mapped_column(String(8))
    cap: Mapped[str] = mapped_column(String(5))
    comune: Mapped[str] = mapped_column(String(60))
    provincia: Mapped[str | None] = mapped_column(String(2))
    nazione: Mapped[str] = mapped_column(String(2))
    recipient_code: Mapped[str | None] = mapped_column(String(7))
    pec: Mapped[str | None] = mapped_column(String(256))
    is_default: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MachineRow(Base):
    """A machine of a site: which gateway runs it, its run thresholds and its session rules."""

    __tablename__ = "machines"
    __table_args__ = (
        CheckConstraint("idle_amps > 0 AND run_amps > idle_amps", name="thresholds_ordered"),
        CheckConstraint(
            "hysteresis_amps >= 0 AND hysteresis_amps < idle_amps", name="hysteresis_fits"
        ),
        CheckConstraint("min_dwell_s >= 0", name="dwell_not_negative"),
    )

    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    gateway: Mapped[str] = mapped_column(String(ID_LEN))
    idle_amps: Mapped[float]
    run_amps: Mapped[float]
    hysteresis_amps: Mapped[float]
    min_dwell_s: Mapped[float]
    # When a session ends by itself, and how long before the gateway warns of it.
    idle_timeout_s: Mapped[float] = mapped_column(server_default="900")
    max_duration_s: Mapped[float] = mapped_column(server_default="28800")
    warn_before_s: Mapped[float] = mapped_column(server_default="60")
    # The most the machine draws, from its plate: a session's energy is checked against it.
    rated_w: Mapped[float | None]
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MachinePhotoRow(Base):
    """A machine's photo for its tile and page: the bytes and the type they were sniffed as."""

    __tablename__ = "machine_photos"
    __table_args__ = (
        ForeignKeyConstraint(
            ["site", "machine"], ["machines.site", "machines.id"], ondelete="CASCADE"
        ),
    )

    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    machine: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QualificationRow(Base):
    """A member trained on a machine, optionally until a date (a yearly safety refresher)."""

    __tablename__ = "qualifications"
    __table_args__ = (
        ForeignKeyConstraint(
            ["site", "machine"], ["machines.site", "machines.id"], ondelete="CASCADE"
        ),
        Index("ix_qualifications_site_machine", "site", "machine"),
    )

    member: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    machine: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    granted_by: Mapped[str | None] = mapped_column(String(NAME_LEN))
    # A member who looks after the machine: she may run it out of order, for the repair.
    staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WebhookSubscriptionRow(Base):
    """A target told of the events it subscribed to, signed with its own secret."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    # The HMAC key receivers verify with; shown once, when the subscription is made.
    secret: Mapped[str] = mapped_column(String(64))
    # Event types, space-separated, in the order they were given.
    events: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str | None] = mapped_column(String(NAME_LEN))


class WebhookEventRow(Base):
    """An event of the outbox, written in the transaction of what it reports."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookDeliveryRow(Base):
    """One event owed to one subscription: its unique delivery id, attempts and outcome."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        Index("ix_webhook_deliveries_subscription_status", "subscription_id", "status", "event_id"),
    )

    id: Mapped[str] = mapped_column(String(SESSION_ID_LEN), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Due again at this instant: after a backoff, or once a claimed attempt's lease runs out.
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MaintenanceTaskRow(Base):
    """A machine's recurring service: due after running hours, after days, or whichever is first.

    Its counters start at `done_at`, the last sign-off (or when the task was set). `due_since`
    is when it was found due; a critical task due puts the machine out of order.
    """

    __tablename__ = "maintenance_tasks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["site", "machine"], ["machines.site", "machines.id"], ondelete="CASCADE"
        ),
        CheckConstraint(
            "every_running_s IS NOT NULL OR every_days IS NOT NULL", name="due_by_something"
        ),
        CheckConstraint("every_running_s IS NULL OR every_running_s > 0", name="hours_positive"),
        CheckConstraint("every_days IS NULL OR every_days > 0", name="days_positive"),
        Index("ix_maintenance_tasks_site_machine", "site", "machine"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(ID_LEN))
    machine: Mapped[str] = mapped_column(String(ID_LEN))
    title: Mapped[str] = mapped_column(String(NAME_LEN))
    every_running_s: Mapped[int | None] = mapped_column(Integer)
    every_days: Mapped[int | None] = mapped_column(Integer)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str | None] = mapped_column(String(NAME_LEN))


class FaultRow(Base):
    """A fault reported on a machine: it stays out of order until a coordinator closes it."""

    __tablename__ = "machine_faults"
    __table_args__ = (
        ForeignKeyConstraint(
            ["site", "machine"], ["machines.site", "machines.id"], ondelete="CASCADE"
        ),
        Index("ix_machine_faults_site_machine", "site", "machine"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(ID_LEN))
    machine: Mapped[str] = mapped_column(String(ID_LEN))
    text: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reported_by: Mapped[str] = mapped_column(String(NAME_LEN))
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_type: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(NAME_LEN))


class ServiceLogRow(Base):
    """What was done to a machine, by whom and when: a task signed off or a fault closed."""

    __tablename__ = "service_log"
    __table_args__ = (
        ForeignKeyConstraint(
            ["site", "machine"], ["machines.site", "machines.id"], ondelete="CASCADE"
        ),
        Index("ix_service_log_site_machine", "site", "machine"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(ID_LEN))
    machine: Mapped[str] = mapped_column(String(ID_LEN))
    # The task or fault it settled; the title is copied so the log outlives a deleted task.
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_tasks.id", ondelete="SET NULL")
    )
    fault_id: Mapped[int | None] = mapped_column(
        ForeignKey("machine_faults.id", ondelete="SET NULL")
    )
    what: Mapped[str] = mapped_column(String(NAME_LEN))
    done_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_by: Mapped[str] = mapped_column(String(NAME_LEN))
    notes: Mapped[str] = mapped_column(Text, default="")
    parts: Mapped[str] = mapped_column(Text, default="")


class BookingRulesRow(Base):
    """How a machine may be booked; a machine without a row is not bookable.

    Opening hours are in the site's zone, written as `mon-fri 08:00-20:00; sat 09:00-13:00`
    (empty: open round the clock); closures are local days, `2026-12-25 2026-12-26`.
    """

    __tablename__ = "booking_rules"
    __table_args__ = (
        ForeignKeyConstraint(
            ["site", "machine"], ["machines.site", "machines.id"], ondelete="CASCADE"
        ),
        CheckConstraint("slot_minutes > 0 AND slot_minutes <= 1440", name="slot_fits_a_day"),
        CheckConstraint("horizon_days > 0", name="horizon_positive"),
        CheckConstraint("max_open > 0", name="max_open_positive"),
        CheckConstraint(
            "grace_minutes >= 0 AND notice_minutes >= 0 AND warn_before_minutes >= 0",
            name="minutes_not_negative",
        ),
    )

    site: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    machine: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    slot_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    horizon_days: Mapped[int] = mapped_column(Integer, server_default="14")
    max_open: Mapped[int] = mapped_column(Integer, server_default="3")
    grace_minutes: Mapped[int] = mapped_column(Integer, server_default="15")
    notice_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    # How long before a booking the gateway warns whoever runs the machine.
    warn_before_minutes: Mapped[int] = mapped_column(Integer, server_default="10")
    qualified_only: Mapped[bool] = mapped_column(Boolean, server_default="1")
    # Plans whose members may book, space-separated; empty: any member.
    plans: Mapped[str] = mapped_column(Text, server_default="")
    hours: Mapped[str] = mapped_column(Text, server_default="")
    closures: Mapped[str] = mapped_column(Text, server_default="")
    # Written first by every booking of the machine: the lock that serialises them.
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BookingRow(Base):
    """A slot of a machine booked for a member: made, then cancelled, used or a no-show."""

    __tablename__ = "bookings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["site", "machine"], ["machines.site", "machines.id"], ondelete="CASCADE"
        ),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_bookings_site_machine_starts_at", "site", "machine", "starts_at"),
        Index("ix_bookings_member", "member"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(ID_LEN))
    machine: Mapped[str] = mapped_column(String(ID_LEN))
    member: Mapped[str] = mapped_column(String(ID_LEN))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(NAME_LEN))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
