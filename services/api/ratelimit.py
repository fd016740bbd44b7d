"""Login rate limiting: too many failures for one user name or one client, and they must wait."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from services.api.settings import LoginLimits


class LoginLimiter:
    """Counts failed logins per user name and per client in a sliding window, in memory."""

    def __init__(self, limits: LoginLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _keys(self, username: str, client: str) -> tuple[tuple[str, int], tuple[str, int]]:
        # A whole workshop may share one address behind its router: a client may fail more.
        return (
            (f"user:{username.lower()}", self._limits.failures),
            (f"client:{client}", self._limits.client_failures),
        )

    def retry_after(self, *, username: str, client: str) -> float:
        """Seconds until this user name from this client may try again; 0 when it may now."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key, allowed in self._keys(username, client):
                times = self._recent(key, now)
                if not times:
                    # Forget quiet keys, so guessed user names do not pile up in memory.
                    del self._failures[key]
                elif len(times) >= allowed:
                    wait = max(wait, times[0] + self._limits.window_s - now)
        return wait

    def failed(self, *, username: str, client: str) -> None:
        """Count one failed login against the user name and the client."""
        now = self._clock()
        with self._lock:
            for key, _allowed in self._keys(username, client):
                self._recent(key, now).append(now)

    def succeeded(self, *, username: str, client: str) -> None:
        """A good login clears the user name's failures (the client's stay counted)."""
        with self._lock:
            self._failures.pop(self._keys(username, client)[0][0], None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self._limits.window_s:
            times.popleft()
        return times
