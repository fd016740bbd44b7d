"""A card reader as the hardware behaves: it hears a card only while it is open."""

from __future__ import annotations

import threading
from collections import deque

from gateway.drivers.base import CardReading


class FakeCardReader:
    """An antenna that hears a card presented while open; one presented before goes unheard."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heard: deque[str] = deque()
        self._open = False
        self.opened = threading.Event()
        self.unheard: list[str] = []

    def open(self) -> None:
        """Power the antenna."""
        with self._lock:
            self._open = True
        self.opened.set()

    def present(self, uid: str) -> bool:
        """A card held to the reader: whether the reader heard it."""
        with self._lock:
            if not self._open:
                self.unheard.append(uid)
                return False
            self._heard.append(uid)
            return True

    def read(self) -> CardReading | None:
        """The next card heard, or None."""
        with self._lock:
            return CardReading(self._heard.popleft()) if self._heard else None

    def close(self) -> None:
        """Power the antenna off."""
        with self._lock:
            self._open = False
