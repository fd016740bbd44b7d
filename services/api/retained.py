"""Retained, versioned messages out: one worker thread per kind, told only what changed.

The access lists (one per machine) and the gateway configs (one per gateway) are published the
same way: a request says which keys changed, a worker thread republishes them (every key after a
reconnect), retries what failed, and tops any version already retained on the broker, so a
gateway takes a message only if it is newer than the one it runs by.
"""

from __future__ import annotations

import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from contract import Message
from services.api.broker import BrokerLink
from services.api.errors import BrokerError
from services.ledger import LedgerError

log = logging.getLogger(__name__)

RETRY_S = 1.0
EVERYTHING = "*"


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def epoch_ms(moment: datetime) -> int:
    """Wire time of an aware datetime."""
    return int(moment.timestamp() * 1000)


class RetainedPublisher(ABC):
    """A worker thread that republishes retained messages by key; requests only say what changed."""

    what = "message"  # in the log: "access list", "config"

    def __init__(
        self,
        *,
        site: str,
        link: BrokerLink,
        engine: Engine,
        follow: str,
        thread_name: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.site = site
        self._link = link
        self._open_db = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._changed: queue.Queue[frozenset[str] | None] = queue.Queue()
        self._seen_lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name=thread_name, daemon=True)
        link.follow(follow, self._saw)
        link.when_connected(self.everything_changed)

    def __enter__(self) -> Self:
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

    def changed(self, keys: Iterable[str]) -> None:
        """Republish these keys' messages (soon, on the worker thread)."""
        keys = frozenset(keys)
        if keys:
            self._changed.put(keys)

    def everything_changed(self) -> None:
        """Republish every key's message: after a reconnect, or a member's erasure."""
        self._changed.put(frozenset({EVERYTHING}))

    @abstractmethod
    def retained_version(self, message: Message) -> tuple[str, int] | None:
        """The key and version of a message of this kind heard on the broker; None for others."""

    @abstractmethod
    def every_key(self) -> set[str]:
        """Every key there is a message for (raises LedgerError)."""

    @abstractmethod
    def publish(self, key: str) -> None:
        """Publish one key's message now (raises BrokerError or LedgerError)."""

    def seen_version(self, key: str) -> int:
        """The newest version of a key heard retained on the broker (-1: none)."""
        with self._seen_lock:
            return self._seen.get(key, -1)

    def _saw(self, message: Message) -> None:
        # A retained message from before (a restored database): the next version must top it.
        heard = self.retained_version(message)
        if heard is not None:
            key, version = heard
            with self._seen_lock:
                self._seen[key] = max(self._seen.get(key, -1), version)

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

    def _publish_all(self, keys: set[str]) -> set[str]:
        """Publish each key's message; return the keys that must be tried again."""
        try:
            if EVERYTHING in keys:
                keys = self.every_key() | (keys - {EVERYTHING})
        except LedgerError as err:
            log.warning("%s: cannot read what to publish: %s", self.what, err)
            return keys
        failed: set[str] = set()
        for key in sorted(keys):
            try:
                self.publish(key)
            except (BrokerError, LedgerError) as err:
                log.warning("%s of %s not published: %s", self.what, key, err)
                failed.add(key)
        return failed
