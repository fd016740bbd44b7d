"""Many bookings in one transaction: sessions, badges, states and dead letters of one batch.

Every statement is idempotent by the message's id, so a batch booked twice (a crash between the
commit and the broker's acknowledgement) changes nothing but the sessions' delivery counts.
On PostgreSQL the rows of a batch go as one array per column (binary, see `db`), so a batch of
thousands of sessions is one short statement and one round trip, plus one for repeats.

A repeat whose body differs from the booked session is a conflict: the booking stands and the
copy is kept in `session_conflicts`. A new session naming a member the registry does not know
is booked and held (`held_sessions`) until a coordinator releases or dismisses it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.selectable import TableValuedAlias

from contract import Badge, SessionRecord, StateChange
from services.ledger.models import (
    BadgeEventRow,
    DeadLetterRow,
    HeldSessionRow,
    MachineRow,
    MachineStateRow,
    MemberRow,
    SessionConflictRow,
    SessionRow,
)
from services.ledger.outbox import EventType, OutboxEvent, announce
from services.ledger.types import from_epoch_ms, to_epoch_ms

Insert = Callable[[Any], Any]
SESSIONS = cast(Table, SessionRow.__table__)
BADGE_EVENTS = cast(Table, BadgeEventRow.__table__)
MACHINE_STATES = cast(Table, MachineStateRow.__table__)
DEAD_LETTERS = cast(Table, DeadLetterRow.__table__)
HELD_SESSIONS = cast(Table, HeldSessionRow.__table__)
SESSION_CONFLICTS = cast(Table, SessionConflictRow.__table__)
MEMBERS = cast(Table, MemberRow.__table__)
MACHINES = cast(Table, MachineRow.__table__)
# A dead letter keeps this much of a refused message: enough to see what it was and why it was
# refused, while a flood of megabyte payloads cannot fill the ledger's disk.
DEAD_LETTER_KEEP_BYTES = 4096
UNKNOWN_MEMBER = "member not in the registry"
# What a session is compared on when it comes again: every field the contract gives it.
_COMPARED = (
    "site",
    "machine",
    "member",
    "card_hash",
    "started",
    "ended",
    "unlocked_s",
    "running_s",
    "idle_s",
    "energy_wh",
    "end_reason",
    "clock_ok",
)


def kept_raw(raw: bytes) -> bytes:
    """What a dead letter keeps of a message's bytes: a bounded prefix."""
    return bytes(raw[:DEAD_LETTER_KEEP_BYTES])


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be booked: where it came from, its raw bytes, and why."""

    topic: str
    raw: bytes
    error: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class SiteSession:
    """A closed session and the site whose topic it came on."""

    site: str
    record: SessionRecord
    topic: str = ""


@dataclass(frozen=True, slots=True)
class MachineEvent:
    """A badge event or a state change, and the machine whose topic it came on."""

    site: str
    machine: str
    payload: Badge | StateChange


@dataclass(frozen=True, slots=True, kw_only=True)
class Bookings:
    """What one transaction books."""

    sessions: Sequence[SiteSession] = ()
    badges: Sequence[MachineEvent] = ()
    states: Sequence[MachineEvent] = ()
    dead_letters: Sequence[DeadLetter] = ()

    def __len__(self) -> int:
        return len(self.sessions) + len(self.badges) + len(self.states) + len(self.dead_letters)


@dataclass(frozen=True, slots=True)
class SessionConflict:
    """A session delivered again with another body: the booked one and the copy that came."""

    session_id: str
    site: str
    machine: str
    topic: str
    ts: int  # the copy's message time, on its gateway's clock
    booked: Mapping[str, object]
    delivered: Mapping[str, object]
    copy: SessionRecord  # the conflicting copy itself, as it came


@dataclass(frozen=True, slots=True)
class BookingResult:
    """What a transaction changed: new ids, repeats, conflicts, holds, states, letters kept."""

    new_sessions: frozenset[str] = frozenset()
    repeated_sessions: int = 0
    conflicts: tuple[SessionConflict, ...] = ()
    held_sessions: frozenset[str] = frozenset()
    new_badges: int = 0
    repeated_badges: int = 0
    states_kept: int = 0
    states_stale: int = 0
    dead_letters: int = 0


def book_all(
    connection: Connection, insert: Insert, bookings: Bookings, now: datetime
) -> BookingResult:
    """Book everything in `bookings` on an open transaction; the caller commits."""
    new_sessions, repeated_sessions, conflicts = _book_sessions(
        connection, insert, bookings.sessions, now
    )
    held = _hold_unknown_members(connection, bookings.sessions, new_sessions, now)
    new_badges = _book_badges(connection, insert, bookings.badges, now)
    kept, changed = _record_states(connection, insert, bookings.states, now)
    announce(connection, _events(bookings.sessions, new_sessions, changed), now)
    if bookings.dead_letters:
        connection.execute(
            DEAD_LETTERS.insert(),
            [
                {
                    "received_at": now,
                    "topic": letter.topic,
                    "raw": kept_raw(letter.raw),
                    "raw_size": len(letter.raw),
                    "error": letter.error,
                    "field": letter.field,
                }
                for letter in bookings.dead_letters
            ],
        )
    return BookingResult(
        new_sessions=new_sessions,
        repeated_sessions=repeated_sessions,
        conflicts=conflicts,
        held_sessions=held,
        new_badges=new_badges,
        repeated_badges=len(bookings.badges) - new_badges,
        states_kept=len(kept),
        states_stale=len(bookings.states) - len(kept),
        dead_letters=len(bookings.dead_letters),
    )


def _events(
    sessions: Sequence[SiteSession],
    new: frozenset[str],
    changed: Sequence[tuple[str, str, StateChange]],
) -> list[OutboxEvent]:
    """The webhook events of a booking: each new session closed, each state now stored."""
    events = []
    told: set[str] = set()
    for item in sessions:
        record = item.record
        if record.id in new and record.id not in told:
            told.add(record.id)
            data = {"site": item.site, **record.model_dump(mode="json", exclude={"v", "card"})}
            events.append(OutboxEvent(EventType.SESSION_CLOSED, data))
    for site, machine, change in changed:
        state = {
            "site": site,
            "machine": machine,
            "state": change.state.value,
            "member": change.member,
            "session": change.session,
            "since": change.since,
        }
        events.append(OutboxEvent(EventType.MACHINE_STATE_CHANGED, state))
    return events


def _book_sessions(
    connection: Connection, insert: Insert, sessions: Sequence[SiteSession], now: datetime
) -> tuple[frozenset[str], int, tuple[SessionConflict, ...]]:
    if not sessions:
        return frozenset(), 0, ()
    deliveries = Counter(item.record.id for item in sessions)
    first = {item.record.id: item for item in reversed(sessions)}  # the first arrival wins
    table = SESSIONS
    rows = {key: _session_values(item, now, deliveries[key]) for key, item in first.items()}
    new = _insert_new(connection, insert, table, list(rows.values()))
    again = [(key, count) for key, count in deliveries.items() if key not in new]
    conflicts: tuple[SessionConflict, ...] = ()
    if again:
        _add_deliveries(connection, again)
        conflicts = _conflicts(connection, sessions, rows, new, now)
    return new, len(sessions) - len(new), conflicts


def _conflicts(
    connection: Connection,
    sessions: Sequence[SiteSession],
    rows: Mapping[str, Mapping[str, object]],
    new: frozenset[str],
    now: datetime,
) -> tuple[SessionConflict, ...]:
    """The repeats whose body differs from the booked session, recorded for review."""
    # What each id is booked as: this batch's first copy if it was new here, else the stored row.
    booked: dict[str, Mapping[str, object]] = {key: rows[key] for key in new}
    stored_ids = [key for key in rows if key not in new]
    for start in range(0, len(stored_ids), _READ_IDS):
        chunk = stored_ids[start : start + _READ_IDS]
        columns = [SESSIONS.c.id, *(SESSIONS.c[name] for name in _COMPARED)]
        for row in connection.execute(select(*columns).where(SESSIONS.c.id.in_(chunk))):
            booked[row.id] = dict(row._mapping)
    seen_first: set[str] = set()
    found: list[SessionConflict] = []
    for item in sessions:
        key = item.record.id
        if key in new and key not in seen_first:
            seen_first.add(key)  # the copy that was booked
            continue
        stands = booked.get(key)
        came = _session_values(item, now, 1)
        if stands is None or all(stands[name] == came[name] for name in _COMPARED):
            continue
        found.append(
            SessionConflict(
                key,
                item.site,
                item.record.machine,
                item.topic,
                item.record.ts,
                {name: stands[name] for name in _COMPARED},
                {name: came[name] for name in _COMPARED},
                item.record,
            )
        )
    if found:
        _record_conflicts(connection, found, now)
    return tuple(found)


# Ids per query when reading back booked sessions (well under every driver's parameter limit).
_READ_IDS = 500


def _record_conflicts(
    connection: Connection, conflicts: Sequence[SessionConflict], now: datetime
) -> None:
    machines = {(c.site, c.machine) for c in conflicts}
    gateways = {
        (row.site, row.id): row.gateway
        for row in connection.execute(
            select(MACHINES.c.site, MACHINES.c.id, MACHINES.c.gateway).where(
                tuple_(MACHINES.c.site, MACHINES.c.id).in_(machines)
            )
        )
    }
    connection.execute(
        SESSION_CONFLICTS.insert(),
        [
            {
                "session_id": c.session_id,
                "site": c.site,
                "topic": c.topic,
                "gateway": gateways.get((c.site, c.machine)),
                "booked": _as_json(c.booked),
                "delivered": _as_json(c.delivered),
                "received_at": now,
            }
            for c in conflicts
        ],
    )


def _as_json(values: Mapping[str, object]) -> str:
    """A session's compared fields as JSON, times in the contract's epoch milliseconds."""
    plain = {
        name: (to_epoch_ms(value) if isinstance(value, datetime) else value)
        for name, value in values.items()
    }
    return json.dumps(plain, sort_keys=True)


def _hold_unknown_members(
    connection: Connection,
    sessions: Sequence[SiteSession],
    new: frozenset[str],
    now: datetime,
) -> frozenset[str]:
    """Hold the new sessions whose member the registry does not know; their ids."""
    if not new:
        return frozenset()
    named = {item.record.member for item in sessions if item.record.id in new}
    known = set(connection.execute(select(MEMBERS.c.id).where(MEMBERS.c.id.in_(named))).scalars())
    held: dict[str, SiteSession] = {}
    for item in sessions:
        key = item.record.id
        if key in new and item.record.member not in known and key not in held:
            held[key] = item
    if held:
        connection.execute(
            HELD_SESSIONS.insert(),
            [
                {
                    "session_id": key,
                    "site": item.site,
                    "member": item.record.member,
                    "reason": UNKNOWN_MEMBER,
                    "held_at": now,
                }
                for key, item in held.items()
            ],
        )
    return frozenset(held)


def _add_deliveries(connection: Connection, again: Sequence[tuple[str, int]]) -> None:
    """Count further deliveries of sessions already booked."""
    table = SESSIONS
    if connection.dialect.name == "postgresql":
        given = _unnested(table, {"id": [k for k, _ in again], "deliveries": [n for _, n in again]})
        connection.execute(
            update(table)
            .where(table.c.id == given.c.id)
            .values(deliveries=table.c.deliveries + given.c.deliveries)
        )
        return
    connection.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(deliveries=table.c.deliveries + bindparam("b_n")),
        [{"b_id": key, "b_n": count} for key, count in again],
    )


def _insert_new(
    connection: Connection, insert: Insert, table: Table, rows: Sequence[Mapping[str, object]]
) -> frozenset[str]:
    """Insert the rows whose id is not in the table yet; the ids of those inserted."""
    if connection.dialect.name != "postgresql":
        statement = insert(table).on_conflict_do_nothing(index_elements=["id"])
        return frozenset(connection.execute(statement.returning(table.c.id), rows).scalars())
    names = list(rows[0])
    given = _unnested(table, {name: [row[name] for row in rows] for name in names})
    statement = (
        postgresql.insert(table)
        .from_select(names, select(*(given.c[name] for name in names)))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(table.c.id)
    )
    return frozenset(connection.execute(statement).scalars())


def _unnested(table: Table, columns: Mapping[str, Sequence[object]]) -> TableValuedAlias:
    """PostgreSQL: columns of values as one array each, read back as rows by `unnest`.

    A batch is then one short statement with a parameter per column, where a multi-row VALUES
    list would be a statement of tens of thousands of placeholders that the driver parses anew
    for every batch (most of the time a 5,000-session batch took).
    """
    arrays = [
        bindparam(f"u_{name}", list(values), type_=ARRAY(table.c[name].type))
        for name, values in columns.items()
    ]
    return func.unnest(*arrays).table_valued(*columns).render_derived(name="given")


def _session_values(item: SiteSession, now: datetime, deliveries: int) -> dict[str, object]:
    record = item.record
    return {
        "id": record.id,
        "site": item.site,
        "machine": record.machine,
        "member": record.member,
        "card_hash": record.card,
        "started": from_epoch_ms(record.started),
        "ended": from_epoch_ms(record.ended),
        "unlocked_s": record.unlocked_s,
        "running_s": record.running_s,
        "idle_s": record.idle_s,
        "energy_wh": record.energy_wh,
        "end_reason": record.end_reason.value,
        "clock_ok": record.clock_ok,
        "received_at": now,
        "deliveries": deliveries,
    }


def _book_badges(
    connection: Connection, insert: Insert, badges: Sequence[MachineEvent], now: datetime
) -> int:
    unique: dict[str, dict[str, object]] = {}
    for event in badges:
        badge = event.payload
        if not isinstance(badge, Badge) or badge.id in unique:
            continue
        unique[badge.id] = {
            "id": badge.id,
            "site": event.site,
            "machine": event.machine,
            "card_hash": badge.card,
            "decision": badge.decision.value,
            "reason": badge.reason,
            "member": badge.member,
            "session": badge.session,
            "at": from_epoch_ms(badge.ts),
            "received_at": now,
        }
    if not unique:
        return 0
    return len(_insert_new(connection, insert, BADGE_EVENTS, list(unique.values())))


def _record_states(
    connection: Connection, insert: Insert, states: Sequence[MachineEvent], now: datetime
) -> tuple[list[tuple[str, str]], list[tuple[str, str, StateChange]]]:
    """Keep each machine's newest state; the machines whose stored state this replaced."""
    newest: dict[tuple[str, str], StateChange] = {}
    for event in states:
        change = event.payload
        if not isinstance(change, StateChange):
            continue
        key = (event.site, event.machine)
        held = newest.get(key)
        if held is None or (change.since, change.ts) > (held.since, held.ts):
            newest[key] = change
    if not newest:
        return [], []
    table = MACHINE_STATES
    rows = [
        {
            "site": site,
            "machine": machine,
            "state": change.state.value,
            "member": change.member,
            "session": change.session,
            "since": from_epoch_ms(change.since),
            "ts": from_epoch_ms(change.ts),
            "received_at": now,
        }
        for (site, machine), change in newest.items()
    ]
    statement = insert(table)
    # A change that arrives late (an older `since`) must not overwrite a newer one.
    newer = or_(
        table.c.since < statement.excluded.since,
        and_(table.c.since == statement.excluded.since, table.c.ts < statement.excluded.ts),
    )
    statement = statement.on_conflict_do_update(
        index_elements=["site", "machine"],
        set_={key: statement.excluded[key] for key in rows[0] if key not in ("site", "machine")},
        where=newer,
    ).returning(table.c.site, table.c.machine)
    kept = [(site, machine) for site, machine in connection.execute(statement, rows).all()]
    return kept, [(site, machine, newest[(site, machine)]) for site, machine in kept]
