"""Tables of the ledger as typed SQLAlchemy 2 models: what ingest books."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, MetaData, String, Text
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
    """A rejected MQTT message, kept with its raw bytes so nothing is lost."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    topic: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(255))


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
