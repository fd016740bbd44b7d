"""Where a rejected message is counted in InfluxDB: its site, its kind, and a time of its own.

Each rejected message is one `rejected` point with `count=1`, so a panel's `sum("count")` is the
number of messages. Two points of the same series and time would be one, so every message gets
a millisecond of its own. A message carrying a readable `ts` close to when it came is placed at
it: delivered again, it lands on the same point (in a process that remembers it; after a restart
it overwrites a point of the same value). A message without one (not JSON, no `ts`, a `ts` far
off) is placed at the moment it came: each delivery counts.
"""

from __future__ import annotations

import hashlib
import json

from contract import ROOT, TopicKind, is_id

UNKNOWN = "unknown"
_KINDS = frozenset(kind.value for kind in TopicKind)
HOUR_MS = 3_600_000
# A `ts` older than this would fall out of the raw retention (90 days) before long and, with
# a clock gone wrong, outside it altogether (InfluxDB refuses such points); one later than an
# hour ahead lands where no dashboard looks.
TS_BEFORE_MS = 30 * 24 * HOUR_MS
TS_AFTER_MS = HOUR_MS
# Rejected messages are few; this only bounds the memory a flood of them can take.
MAX_REMEMBERED = 100_000


def rejected_tags(topic: str) -> tuple[str, str]:
    """The site and kind a rejected message's topic names; `unknown` for a level that is bad."""
    parts = topic.split("/")
    site = UNKNOWN
    if len(parts) >= 3 and "/".join(parts[:2]) == ROOT and is_id(parts[2]):
        site = parts[2]
    kind = parts[-1] if len(parts) == 6 and parts[-1] in _KINDS else UNKNOWN
    return site, kind


def _own_ts(raw: bytes, received_ms: int) -> int | None:
    """The message's `ts` if it has a usable one, else None."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    ts = document.get("ts") if isinstance(document, dict) else None
    if not isinstance(ts, int) or isinstance(ts, bool):
        return None
    if not received_ms - TS_BEFORE_MS <= ts <= received_ms + TS_AFTER_MS:
        return None
    return ts


class RejectedTimes:
    """Gives each rejected message the time of its point; not thread-safe (the intake locks)."""

    def __init__(self) -> None:
        self._by_message: dict[bytes, int] = {}
        self._taken: set[tuple[str, str, int]] = set()

    def time_of(self, site: str, kind: str, topic: str, raw: bytes, received_ms: int) -> int:
        """The point time of a rejected message on this site and kind."""
        own = _own_ts(raw, received_ms)
        digest = b""
        if own is not None:
            digest = hashlib.blake2b(topic.encode() + b"\0" + raw, digest_size=16).digest()
            known = self._by_message.get(digest)
            if known is not None:
                return known
        at = received_ms if own is None else own
        while (site, kind, at) in self._taken:
            at += 1
        if len(self._taken) >= MAX_REMEMBERED:
            self._taken.clear()
            self._by_message.clear()
        self._taken.add((site, kind, at))
        if own is not None:
            self._by_message[digest] = at
        return at
