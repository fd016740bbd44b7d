"""`Presence`: a card held to a reader counts once, until it has been away `release_s`."""

from __future__ import annotations


class Presence:
    """Once per presentation: the same card counts again only after `release_s` out of the field."""

    def __init__(self, release_s: float) -> None:
        self.release_s = release_s
        self._last_seen: dict[str, float] = {}

    def seen(self, uid: str, now: float) -> bool:
        """Note the card at `now`; True when this is a new presentation."""
        last = self._last_seen.get(uid)
        self._last_seen[uid] = now
        # Forget cards long gone, so the table stays as small as the cards in reach.
        for old in [u for u, t in self._last_seen.items() if now - t >= self.release_s]:
            if old != uid:
                del self._last_seen[old]
        return last is None or now - last >= self.release_s
