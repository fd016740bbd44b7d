"""The faults an emulated board can be told to have, so tests meet them on purpose.

Each fault, how a test switches it on, and what the host sees:

- line noise, `Emulator.inject_garbage(data)`: `garbage_bytes`, `bad_crc` or `malformed`
  counted; the next frame arrives intact.
- lost measurements, `Emulator.drop_measurements(next_n=..., fraction=...)`: a gap in `M` seq.
- a pulled cable, `Emulator.unplug()` then `replug()`: the port fails, reopens on the same path,
  HELLO. A data-only disconnect: the board keeps its state (add `reset_board()` for a board
  powered by the same cable).
- a welded relay, `Emulator.stick_relay()` / `free_relay()`: the relay ignores commands and the
  ACK tells its real state, so `Bridge.set_relay` raises `RelayMismatchError`.
- a board reset, `Emulator.reset_board()`: HELLO, `M` seq from 1 again, `wh` from 0, relay
  de-energised.
- a deaf board, `Emulator.listening = False`: measurements go on, RELAY and PING go unanswered.
- a hung board, `Emulator.hang()` until `reset_board()`: silence; the host's link goes down.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FaultCounts:
    """How often the switched-on faults struck."""

    measurements_dropped: int
    relay_commands_ignored: int
    resets: int


class BoardFaults:
    """The faults switched on right now; safe to change from any thread."""

    def __init__(self, *, seed: int | None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - which frames are lost, not secrets
        self._drop_next = 0
        self._drop_fraction = 0.0
        self.relay_stuck = False
        self.hung = False
        self._dropped = 0
        self._ignored = 0
        self._resets = 0

    def drop_measurements(self, *, next_n: int = 0, fraction: float | None = None) -> None:
        """Lose the next `next_n` M frames, and from now on each one with chance `fraction`."""
        if next_n < 0:
            raise ValueError(f"next_n: expected 0 or more, got {next_n}")
        if fraction is not None and not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction: expected 0..1, got {fraction}")
        with self._lock:
            self._drop_next += next_n
            if fraction is not None:
                self._drop_fraction = fraction

    def lose_measurement(self) -> bool:
        """Whether the M frame about to be sent is lost (and count it)."""
        with self._lock:
            if self._drop_next > 0:
                self._drop_next -= 1
            elif not (self._drop_fraction and self._rng.random() < self._drop_fraction):
                return False
            self._dropped += 1
            return True

    def relay_ignored(self) -> None:
        """Count a relay command the stuck relay did not follow."""
        with self._lock:
            self._ignored += 1

    def board_reset(self) -> None:
        """A reset clears a hung firmware; a welded relay and a bad line stay as they are."""
        with self._lock:
            self.hung = False
            self._resets += 1

    @property
    def counts(self) -> FaultCounts:
        """A snapshot of how often the faults struck."""
        with self._lock:
            return FaultCounts(self._dropped, self._ignored, self._resets)
