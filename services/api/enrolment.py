"""Enrolling a card by badging it: wait for the next badge at a chosen machine, take its hash."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from contract import Badge, MachineTopic, Message
from services.api.errors import EnrolmentTimeoutError


class BadgeWaiters:
    """Futures waiting for the next card at a machine; resolved from the broker's thread."""

    def __init__(self, *, site: str) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._waiting: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[str]]]] = {}

    def take(self, message: Message) -> None:
        """Hand a badge's card hash to everyone waiting at that machine."""
        topic, payload = message.topic, message.payload
        if not (isinstance(topic, MachineTopic) and isinstance(payload, Badge)):
            return
        if topic.site != self.site:
            return
        with self._lock:
            waiting = self._waiting.pop(topic.machine, [])
        for loop, future in waiting:
            loop.call_soon_threadsafe(_resolve, future, payload.card)

    def waiting_at(self, machine: str) -> int:
        """How many enrolments wait at a machine."""
        with self._lock:
            return len(self._waiting.get(machine, []))

    async def next_card(self, machine: str, *, timeout_s: float) -> str:
        """The hash of the next card badged at machine; EnrolmentTimeoutError if none comes."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        with self._registered(machine, future):
            try:
                return await asyncio.wait_for(future, timeout_s)
            except TimeoutError as err:
                raise EnrolmentTimeoutError(
                    f"no card badged at {machine} within {timeout_s:g} s"
                ) from err

    @contextlib.contextmanager
    def _registered(self, machine: str, future: asyncio.Future[str]) -> Iterator[None]:
        entry = (asyncio.get_running_loop(), future)
        with self._lock:
            self._waiting.setdefault(machine, []).append(entry)
        try:
            yield
        finally:
            with self._lock:
                waiting = self._waiting.get(machine, [])
                if entry in waiting:
                    waiting.remove(entry)
                if not waiting:
                    self._waiting.pop(machine, None)


def _resolve(future: asyncio.Future[str], card: str) -> None:
    if not future.done():
        future.set_result(card)
