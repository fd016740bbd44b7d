"""Login limits: an attempt is counted before its password is checked, and checks run few at once.

Counting after the slow hash let 30 parallel guesses all through a limit of 5; here each attempt
reserves its place first and gives it back only when the password was right. Failures back off a
user name *from one address* (doubling waits), so a guesser elsewhere cannot lock a member out;
an address that fails across many names waits too, more leniently (a workshop may share one).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from services.api.settings import LoginLimits


class LoginRefusedError(Exception):
    """Too many failed logins: this name from this address, or this address, must wait."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"too many failed logins; wait {wait_s:.0f} s")
        self.wait_s = wait_s


class LoginBusyError(Exception):
    """Every password-check slot is taken: try again in a moment."""


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A reserved attempt: counted as failed unless `succeeded` gives it back."""

    username: str
    client: str
    at: float


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class LoginLimiter:
    """Failed logins per (user name, address) with doubling waits, and per address in a window."""

    def __init__(self, limits: LoginLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._pairs: dict[tuple[str, str], _Failures] = {}
        self._clients: dict[str, deque[float]] = {}
        self._checks = threading.BoundedSemaphore(limits.concurrent_checks)

    def reserve(self, *, username: str, client: str) -> LoginAttempt:
        """Count an attempt before its check; LoginRefusedError when it must wait instead."""
        pair = (username.lower(), client)
        now = self._clock()
        with self._lock:
            wait = max(self._pair_wait(pair, now), self._client_wait(client, now))
            if wait > 0:
                raise LoginRefusedError(wait)
            failures = self._pairs.setdefault(pair, _Failures(count=0, last=now))
            failures.count += 1
            failures.last = now
            self._clients.setdefault(client, deque()).append(now)
        return LoginAttempt(username=pair[0], client=client, at=now)

    def succeeded(self, attempt: LoginAttempt) -> None:
        """The password was right: forget this name's failures from this address."""
        with self._lock:
            self._pairs.pop((attempt.username, attempt.client), None)
            self._give_back_client(attempt)

    def unchecked(self, attempt: LoginAttempt) -> None:
        """The password was never checked (no slot free): the attempt does not count."""
        with self._lock:
            failures = self._pairs.get((attempt.username, attempt.client))
            if failures is not None:
                failures.count -= 1
                if failures.count <= 0:
                    del self._pairs[(attempt.username, attempt.client)]
            self._give_back_client(attempt)

    def retry_after(self, *, username: str, client: str) -> float:
        """Seconds until this name from this address may try again; 0 when it may now."""
        now = self._clock()
        pair = (username.lower(), client)
        with self._lock:
            return max(0.0, self._pair_wait(pair, now), self._client_wait(client, now))

    @contextmanager
    def check_slot(self) -> Iterator[None]:
        """Hold one of the few password-check slots (each check takes tens of MB and a core)."""
        if not self._checks.acquire(timeout=self._limits.check_wait_s):
            raise LoginBusyError
        try:
            yield
        finally:
            self._checks.release()

    def _pair_wait(self, pair: tuple[str, str], now: float) -> float:
        failures = self._pairs.get(pair)
        if failures is None:
            return 0.0
        over = failures.count - self._limits.failures
        delay = (
            min(self._limits.backoff_s * 2**over, self._limits.max_backoff_s) if over >= 0 else 0.0
        )
        if now - failures.last >= max(delay, self._limits.window_s):
            # Forget quiet pairs, so guessed user names do not pile up in memory.
            del self._pairs[pair]
            return 0.0
        return failures.last + delay - now

    def _client_wait(self, client: str, now: float) -> float:
        times = self._clients.get(client)
        if times is None:
            return 0.0
        while times and times[0] <= now - self._limits.window_s:
            times.popleft()
        if not times:
            del self._clients[client]
            return 0.0
        if len(times) < self._limits.client_failures:
            return 0.0
        return times[0] + self._limits.window_s - now

    def _give_back_client(self, attempt: LoginAttempt) -> None:
        times = self._clients.get(attempt.client)
        if times is not None and attempt.at in times:
            times.remove(attempt.at)
