"""Named event counts, bumped by ingest's threads and read by tests, logs and /metrics."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType


class Counters:
    """Named event counts, safe to bump from any thread and to wait on."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        """Add to a counter."""
        with self._changed:
            self._counts[name] += amount
            self._changed.notify_all()

    def add_many(self, amounts: Mapping[str, int]) -> None:
        """Add to several counters at once (one lock, one wake-up: a batch's worth)."""
        with self._changed:
            for name, amount in amounts.items():
                if amount:
                    self._counts[name] += amount
            self._changed.notify_all()

    def snapshot(self) -> Mapping[str, int]:
        """A read-only copy of every counter."""
        with self._changed:
            return MappingProxyType(dict(self._counts))

    def wait_for(self, name: str, at_least: int, timeout: float) -> bool:
        """Block until a counter reaches a value; False if it did not within timeout seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._counts[name] >= at_least, timeout)
