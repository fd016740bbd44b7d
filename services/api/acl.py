"""Access lists out: each machine's retained `acl`, republished whenever who-may-use-it changes."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from contract import (
    AccessList,
    AclEntry,
    Command,
    CommandAction,
    MachineTopic,
    Message,
    TopicKind,
    encode_payload,
)
from services.api.broker import BrokerLink
from services.api.errors import BrokerError
from services.api.models import AclVersionRow
from services.ledger import LedgerError

log = logging.getLogger(__name__)

RETRY_S = 1.0


class AccessGrant(Protocol):
    """One card allowed on a machine (the registry's AccessEntry)."""

    @property
    def card_hash(self) -> str:
        """The card's keyed hash."""

    @property
    def member(self) -> str:
        """Whose card it is."""

    @property
    def until(self) -> datetime | None:
        """When the member's qualification ends, if it does."""


class RegisteredMachine(Protocol):
    """A machine of the registry, as far as access lists care."""

    @property
    def id(self) -> str:
        """The machine's id."""


class AccessSource(Protocol):
    """Where access lists come from: the registry."""

    def access_list(self, site: str, machine: str, *, at: datetime) -> Sequence[AccessGrant]:
        """The cards that may unlock a machine at a moment."""

    def machines(
        self, *, site: str | None = None, gateway: str | None = None
    ) -> Sequence[RegisteredMachine]:
        """The registered machines of a site."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def epoch_ms(moment: datetime) -> int:
    """Wire time of an aware datetime."""
    return int(moment.timestamp() * 1000)


class AclPublisher:
    """A worker thread that publishes access lists; requests only tell it what changed."""

    def __init__(
        self,
        *,
        site: str,
        link: BrokerLink,
        source: AccessSource,
        engine: Engine,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.site = site
        self._link = link
        self._source = source
        self._open_db = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._changed: queue.Queue[frozenset[str] | None] = queue.Queue()
        self._seen_lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="acl-publisher", daemon=True)
        link.follow(MachineTopic.filter(site, "+", TopicKind.ACL), self._saw)
        link.when_connected(self.everything_changed)

    def __enter__(self) -> AclPublisher:
        self._worker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._changed.put(None)
        self._worker.join(timeout=10)

    def machines_changed(self, machines: Iterable[str]) -> None:
        """Republish these machines' access lists (soon, on the worker thread)."""
        changed = frozenset(machines)
        if changed:
            self._changed.put(changed)

    def everything_changed(self) -> None:
        """Republish every machine's access list: after a reconnect, or a member's erasure."""
        self._changed.put(frozenset({"*"}))

    def command(self, machine: str, action: CommandAction, *, by: str) -> None:
        """Send a lock or unlock to a machine's gateway; raise BrokerError if not acknowledged."""
        now = epoch_ms(self._clock())
        payload = Command(id=f"cmd-{machine}-{now}", ts=now, action=action, by=by[:64])
        topic = MachineTopic(self.site, machine, TopicKind.COMMANDS)
        self._link.publish(str(topic), encode_payload(payload), retain=False)

    def _saw(self, message: Message) -> None:
        # A retained list from before (a restored database): the next version must top it.
        payload = message.payload
        if isinstance(payload, AccessList) and isinstance(message.topic, MachineTopic):
            with self._seen_lock:
                machine = message.topic.machine
                self._seen[machine] = max(self._seen.get(machine, -1), payload.version)

    def _run(self) -> None:
        pending: set[str] = set()
        while not self._stop.is_set():
            item = self._changed.get()
            if item is None:
                return
            pending |= item
            while not self._changed.empty():
                more = self._changed.get_nowait()
                if more is None:
                    return
                pending |= more
            pending = self._publish_all(pending)
            if pending and self._stop.wait(RETRY_S) is False:
                self._changed.put(frozenset())

    def _publish_all(self, machines: set[str]) -> set[str]:
        """Publish each machine's list; return those that must be tried again."""
        try:
            if "*" in machines:
                machines = {m.id for m in self._source.machines(site=self.site)} | (
                    machines - {"*"}
                )
        except LedgerError as err:
            log.warning("access lists: cannot read the machines: %s", err)
            return machines
        failed: set[str] = set()
        for machine in sorted(machines):
            try:
                self._publish(machine)
            except (BrokerError, LedgerError) as err:
                log.warning("access list of %s not published: %s", machine, err)
                failed.add(machine)
        return failed

    def _publish(self, machine: str) -> None:
        now = self._clock()
        grants = self._source.access_list(self.site, machine, at=now)
        entries = tuple(
            AclEntry(
                card=g.card_hash,
                member=g.member,
                until=None if g.until is None else epoch_ms(g.until),
            )
            for g in grants
        )
        version = self._next_version(machine, len(entries), now)
        payload = AccessList(
            id=f"acl-{machine}-{version}", ts=epoch_ms(now), version=version, entries=entries
        )
        topic = MachineTopic(self.site, machine, TopicKind.ACL)
        self._link.publish(str(topic), encode_payload(payload), retain=True)
        log.info("access list of %s v%d: %d cards", machine, version, len(entries))

    def _next_version(self, machine: str, entries: int, now: datetime) -> int:
        with self._seen_lock:
            seen = self._seen.get(machine, -1)
        try:
            with self._open_db.begin() as db:
                row = db.get(AclVersionRow, (self.site, machine), with_for_update=True)
                if row is None:
                    row = AclVersionRow(site=self.site, machine=machine, version=-1)
                    db.add(row)
                row.version = max(row.version, seen) + 1
                row.entries = entries
                row.published_at = now
                return row.version
        except SQLAlchemyError as err:
            raise LedgerError(f"next access-list version of {machine}: {err}") from err
