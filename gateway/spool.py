"""The gateway's disk store (SQLite, WAL): outbox, session journal, access lists, config, bookings
and the running time of credit-required members' sessions closed here and not yet counted.

Every message is written here before it is handed to the broker and deleted only when the broker
has acknowledged it, so nothing made at the edge is lost to a network, broker or power outage.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gateway.errors import GatewayError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    retain     INTEGER NOT NULL,
    droppable  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_droppable ON outbox (droppable, seq);
CREATE TABLE IF NOT EXISTS open_sessions (
    machine    TEXT PRIMARY KEY,
    snapshot   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS access_lists (
    machine    TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    payload    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS gateway_configs (
    gateway    TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    payload    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS credit_spent (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    machine    TEXT    NOT NULL,
    member     TEXT    NOT NULL,
    ended      INTEGER NOT NULL,
    running_s  REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS credit_spent_member ON credit_spent (machine, member, ended);
CREATE TABLE IF NOT EXISTS gateway_bookings (
    gateway    TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    payload    BLOB NOT NULL
);
"""


class SpoolError(GatewayError):
    """The spool file cannot be opened or written."""


class FullPolicy(StrEnum):
    """What to do with a telemetry point when the spool holds `max_telemetry` of them already."""

    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"


@dataclass(frozen=True, slots=True)
class Spooled:
    """A message waiting for the broker's acknowledgement."""

    seq: int
    topic: str
    payload: bytes
    retain: bool


@dataclass(frozen=True, slots=True)
class Waiting:
    """What the spool holds for the broker: how many messages, and the oldest (None if empty)."""

    count: int
    oldest: Spooled | None


class Spool:
    """The store; safe to use from several threads (one connection, one lock)."""

    def __init__(
        self,
        path: Path | str,
        *,
        max_telemetry: int = 100_000,
        full_policy: FullPolicy = FullPolicy.DROP_OLDEST,
    ) -> None:
        if max_telemetry < 1:
            raise SpoolError("max_telemetry: must be at least 1")
        self.path = Path(path)
        self.max_telemetry = max_telemetry
        self.full_policy = full_policy
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=10
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL survives a crash of the process; what must also survive a power
            # cut (sessions, badges, states, the journal) is committed with FULL, one by one.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            (self._telemetry,) = self._db.execute(
                "SELECT count(*) FROM outbox WHERE droppable = 1"
            ).fetchone()
        except sqlite3.Error as err:
            raise SpoolError(f"spool {path}: {err}") from err

    @property
    def counters(self) -> Mapping[str, int]:
        """What the spool has kept and dropped."""
        with self._lock:
            return dict(self._counters)

    def close(self) -> None:
        """Close the file; everything committed stays for the next start."""
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _durable(self) -> Iterator[None]:
        """Commits inside reach the disk before they return (the caller holds the lock)."""
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            yield
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")

    # -- the outbox -----------------------------------------------------------------------------

    def put(self, topic: str, payload: bytes, *, retain: bool, droppable: bool) -> int | None:
        """Keep a message until acknowledged; returns its sequence number, None if dropped.

        Only droppable messages (telemetry) are ever dropped, and only when the spool is full.
        """
        with self._lock:
            try:
                if droppable and self._telemetry >= self.max_telemetry:
                    self._counters["dropped.telemetry"] += 1
                    if self.full_policy is FullPolicy.DROP_NEWEST:
                        return None
                    self._db.execute(
                        "DELETE FROM outbox WHERE seq = "
                        "(SELECT min(seq) FROM outbox WHERE droppable = 1)"
                    )
                    self._telemetry -= 1
                with self._durable() if not droppable else contextlib.nullcontext():
                    cursor = self._db.execute(
                        "INSERT INTO outbox (topic, payload, retain, droppable) "
                        "VALUES (?, ?, ?, ?)",
                        (topic, payload, int(retain), int(droppable)),
                    )
            except sqlite3.Error as err:
                self._counters["errors"] += 1
                raise SpoolError(f"spool {self.path}: cannot keep a message: {err}") from err
            self._telemetry += int(droppable)
            self._counters["kept"] += 1
            seq = cursor.lastrowid
            assert seq is not None
            return seq

    def pending(self, *, after: int, limit: int) -> Sequence[Spooled]:
        """Messages with a sequence number above `after`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload, retain FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        return [
            Spooled(seq, topic, bytes(payload), bool(retain))
            for seq, topic, payload, retain in rows
        ]

    def acknowledge(self, seqs: Sequence[int]) -> None:
        """The broker has these: forget them."""
        if not seqs:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN")
                dropped = 0
                for seq in seqs:
                    cursor = self._db.execute(
                        "DELETE FROM outbox WHERE seq = ? RETURNING droppable", (seq,)
                    )
                    row = cursor.fetchone()
                    dropped += int(row[0]) if row else 0
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._db.execute("ROLLBACK")
                raise SpoolError(f"spool {self.path}: cannot forget messages: {err}") from err
            self._telemetry -= dropped
            self._counters["acknowledged"] += len(seqs)

    def backlog(self) -> int:
        """How many messages wait for the broker."""
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(count)

    def waiting(self) -> Waiting:
        """How many messages wait for the broker, and the oldest of them."""
        with self._lock:
            try:
                (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
                row = self._db.execute(
                    "SELECT seq, topic, payload, retain FROM outbox ORDER BY seq LIMIT 1"
                ).fetchone()
            except sqlite3.Error as err:
                raise SpoolError(f"spool {self.path}: cannot count messages: {err}") from err
        oldest = None
        if row is not None:
            seq, topic, payload, retain = row
            oldest = Spooled(seq, topic, bytes(payload), bool(retain))
        return Waiting(int(count), oldest)

    # -- the open-session journal and the access lists --------------------------------------------

    def journal(self, machine: str, snapshot: str | None) -> None:
        """Record (or, with None, clear) the open session of a machine, as JSON."""
        with self._lock, self._durable():
            if snapshot is None:
                self._db.execute("DELETE FROM open_sessions WHERE machine = ?", (machine,))
            else:
                self._db.execute(
                    "INSERT INTO open_sessions (machine, snapshot) VALUES (?, ?) "
                    "ON CONFLICT (machine) DO UPDATE SET snapshot = excluded.snapshot",
                    (machine, snapshot),
                )

    def journaled(self) -> dict[str, str]:
        """The sessions that were open when the gateway last stopped, by machine, as JSON."""
        with self._lock:
            rows = self._db.execute("SELECT machine, snapshot FROM open_sessions").fetchall()
        return {str(machine): str(snapshot) for machine, snapshot in rows}

    def store_access_list(self, machine: str, version: int, payload: bytes) -> None:
        """Keep a machine's latest access list for a restart without network."""
        with self._lock:
            self._db.execute(
                "INSERT INTO access_lists (machine, version, payload) VALUES (?, ?, ?) "
                "ON CONFLICT (machine) DO UPDATE SET version = excluded.version, "
                "payload = excluded.payload WHERE excluded.version > access_lists.version",
                (machine, version, payload),
            )

    def access_list(self, machine: str) -> bytes | None:
        """The last access list stored for a machine, as received."""
        with self._lock:
            row = self._db.execute(
                "SELECT payload FROM access_lists WHERE machine = ?", (machine,)
            ).fetchone()
        return bytes(row[0]) if row else None

    def store_config(self, gateway: str, version: int, payload: bytes) -> None:
        """Keep the gateway's latest config (its machines' policy) for a restart without network."""
        with self._lock:
            self._db.execute(
                "INSERT INTO gateway_configs (gateway, version, payload) VALUES (?, ?, ?) "
                "ON CONFLICT (gateway) DO UPDATE SET version = excluded.version, "
                "payload = excluded.payload WHERE excluded.version > gateway_configs.version",
                (gateway, version, payload),
            )

    def config(self, gateway: str) -> bytes | None:
        """The last config stored for the gateway, as received."""
        with self._lock:
            row = self._db.execute(
                "SELECT payload FROM gateway_configs WHERE gateway = ?", (gateway,)
            ).fetchone()
        return bytes(row[0]) if row else None

    def store_bookings(self, gateway: str, version: int, payload: bytes) -> None:
        """Keep the gateway's latest bookings, so it decides offline and after a reboot."""
        with self._lock:
            self._db.execute(
                "INSERT INTO gateway_bookings (gateway, version, payload) VALUES (?, ?, ?) "
                "ON CONFLICT (gateway) DO UPDATE SET version = excluded.version, "
                "payload = excluded.payload WHERE excluded.version > gateway_bookings.version",
                (gateway, version, payload),
            )

    def bookings(self, gateway: str) -> bytes | None:
        """The last bookings stored for the gateway, as received."""
        with self._lock:
            row = self._db.execute(
                "SELECT payload FROM gateway_bookings WHERE gateway = ?", (gateway,)
            ).fetchone()
        return bytes(row[0]) if row else None

    # -- credit spent here ----------------------------------------------------------------------

    def store_credit_spent(
        self, machine: str, member: str, ended_ms: int, running_s: float
    ) -> None:
        """Keep a session closed here against its member's credit, through a restart."""
        with self._lock, self._durable():
            try:
                self._db.execute(
                    "INSERT INTO credit_spent (machine, member, ended, running_s) "
                    "VALUES (?, ?, ?, ?)",
                    (machine, member, ended_ms, running_s),
                )
            except sqlite3.Error as err:
                raise SpoolError(f"spool {self.path}: cannot keep credit spent: {err}") from err

    def credit_spent(self, machine: str) -> list[tuple[str, int, float]]:
        """(member, ended epoch ms, running seconds) of the sessions kept for a machine."""
        with self._lock:
            rows = self._db.execute(
                "SELECT member, ended, running_s FROM credit_spent WHERE machine = ? ORDER BY seq",
                (machine,),
            ).fetchall()
        return [(str(member), int(ended), float(s)) for member, ended, s in rows]

    def forget_credit_spent(self, machine: str, member: str, counted_until_ms: int) -> None:
        """The api has counted the member's sessions that ended by then: forget them."""
        with self._lock:
            try:
                self._db.execute(
                    "DELETE FROM credit_spent WHERE machine = ? AND member = ? AND ended <= ?",
                    (machine, member, counted_until_ms),
                )
            except sqlite3.Error as err:
                raise SpoolError(f"spool {self.path}: cannot forget credit spent: {err}") from err
