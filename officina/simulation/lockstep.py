"""A gateway on simulated time, in lock step with the simulated floor around it.

The real gateway (`gateway.daemon.Gateway`: its workers, session state machines, spool and MQTT
link) runs unchanged; only the hardware and the clock are simulated. Time moves in steps: the
floor sets every machine's load and presents the cards of step *k*, then waits until every
current sensor has been read, every card taken, and every worker has handled what it was given
and gone back to its inbox. Only then does time move to step *k + 1*.

So each sample is taken at an exact, known instant and each badge is decided at one: what the
gateway measures is what the floor did, to the millisecond, whatever the load on the machine
running the simulation. That is what lets a month of simulated work be checked to the cent.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.drivers.base import CardReading, CurrentReading

# How long a blocked driver waits before looking again at whether it is being closed (real s).
_RECHECK_S = 0.5


class SimClock:
    """The simulated clocks of one gateway: seconds set by the floor, a wall clock that may lie.

    `monotonic()` is the floor's time (epoch seconds) minus a fixed origin; `wall_ms()` is the
    same instant in UTC milliseconds plus `wall_offset_ms`, the error of the gateway's own
    clock (negative: it runs late). A clock jump is a change of that offset.
    """

    def __init__(self, *, now_s: int, wall_offset_ms: int = 0) -> None:
        self._origin_s = now_s
        self._now_s = now_s
        self.wall_offset_ms = wall_offset_ms

    @property
    def now_s(self) -> int:
        """The floor's time: UTC epoch seconds."""
        return self._now_s

    def set(self, now_s: int) -> None:
        """Move to `now_s`; time never goes backwards."""
        if now_s < self._now_s:
            raise ValueError(f"now_s: {now_s} is before {self._now_s}")
        self._now_s = now_s

    def monotonic(self) -> float:
        """Simulated seconds since this clock was made."""
        return float(self._now_s - self._origin_s)

    def wall_ms(self) -> int:
        """What the gateway's wall clock says now."""
        return self._now_s * 1000 + self.wall_offset_ms

    def sleep(self, seconds: float) -> None:
        """Return at once: only the floor moves this clock, and its drivers block on the floor."""


@dataclass(slots=True)
class BoardState:
    """What the floor has set on one machine's board, and what the gateway set on its relay."""

    amps: float = 0.0
    watts: float = 0.0
    meter_mwh: int = 0
    relay_energised: bool = False
    cards: list[str] = field(default_factory=list)


class Lockstep:
    """The barrier between the floor's steps and the gateway's threads."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.cond = threading.Condition()
        self.step = 0
        self.closed = False
        self.sensors: list[SimCurrentSensor] = []
        self.readers: list[SimCardReader] = []
        self.inboxes: list[LockstepInbox] = []

    def advance(self, now_s: int, apply: Callable[[], None]) -> None:
        """Start a step at `now_s`: move the clock, let `apply` set the boards, wake the gateway.

        `apply` runs under the condition, after the clock has moved: a card presented by it is
        read, and decided, at `now_s` and at no other time.
        """
        with self.cond:
            self.clock.set(now_s)
            apply()
            self.step += 1
            self.cond.notify_all()

    def settle(self, timeout_s: float = 120.0) -> None:
        """Wait until the gateway has taken and handled everything of this step."""
        with self.cond:
            if not self.cond.wait_for(self._settled, timeout=timeout_s):
                raise TimeoutError(
                    f"the gateway did not finish step {self.step} within {timeout_s:.0f} s"
                )

    def _settled(self) -> bool:
        return (
            all(s.waiting and s.seen == self.step for s in self.sensors)
            and all(r.waiting and not r.board.cards for r in self.readers)
            and all(i.idle() for i in self.inboxes)
        )

    def notify(self) -> None:
        """Something a participant did may have settled the step."""
        with self.cond:
            self.cond.notify_all()

    def close(self) -> None:
        """Release every blocked driver and inbox: the gateway is being stopped."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        for inbox in self.inboxes:
            inbox.release()


class SimCurrentSensor:
    """A current sensor that reports, once per step, the load the floor set on its machine."""

    def __init__(self, lockstep: Lockstep, board: BoardState) -> None:
        self.lockstep = lockstep
        self.board = board
        self.seen = 0
        self.waiting = False
        lockstep.sensors.append(self)

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to release."""

    def read(self) -> CurrentReading | None:
        """Block until the next step, then read the machine's supply at that instant."""
        ls = self.lockstep
        with ls.cond:
            self.waiting = True
            ls.cond.notify_all()
            while self.seen == ls.step and not ls.closed:
                ls.cond.wait(_RECHECK_S)
            if ls.closed:
                ls.cond.wait(_RECHECK_S)  # the worker is stopping: do not spin
                return None
            self.seen = ls.step
            self.waiting = False
            board = self.board
            return CurrentReading(
                amps=board.amps, watts=board.watts, meter_wh=board.meter_mwh / 1000
            )


class SimCardReader:
    """A card reader that hands over the cards the floor presents, at the step they are held."""

    def __init__(self, lockstep: Lockstep, board: BoardState) -> None:
        self.lockstep = lockstep
        self.board = board
        self.waiting = False
        lockstep.readers.append(self)

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to release."""

    def read(self) -> CardReading | None:
        """The next card held to the reader, or None after a while without one."""
        ls = self.lockstep
        with ls.cond:
            self.waiting = True
            ls.cond.notify_all()
            if not self.board.cards and not ls.closed:
                ls.cond.wait(_RECHECK_S)
            if not self.board.cards or ls.closed:
                return None
            self.waiting = False
            return CardReading(self.board.cards.pop(0))


class SimRelay:
    """The machine's interlock as the floor sees it: members work only while it is energised."""

    def __init__(self, lockstep: Lockstep, board: BoardState) -> None:
        self.lockstep = lockstep
        self.board = board

    def open(self) -> None:
        """The relay starts de-energised."""
        self.set(False)

    def close(self) -> None:
        """Fail safe: de-energised."""
        self.set(False)

    def set(self, energised: bool) -> None:
        """Energise or de-energise the interlock."""
        with self.lockstep.cond:
            self.board.relay_energised = energised


class LockstepInbox(queue.Queue[Any]):
    """A worker's inbox that tells the floor whether the worker is busy.

    The worker is busy from taking an item until it asks for the next one (handling, ticking
    and journaling in between). It does not wake by itself on a timeout: simulated time only
    moves with the floor, so there is nothing to tick between steps.
    """

    def __init__(self, lockstep: Lockstep) -> None:
        super().__init__()
        self.lockstep = lockstep
        self.busy = False
        self._released = False
        lockstep.inboxes.append(self)

    def idle(self) -> bool:
        """Waiting for work with none queued (called under the lockstep's condition)."""
        with self.mutex:
            return not self.busy and not self._qsize()

    def release(self) -> None:
        """Let a waiting worker return, so that it sees it is being stopped."""
        with self.mutex:
            self._released = True
            self.not_empty.notify_all()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next item; raises `queue.Empty` only once the gateway is being stopped."""
        with self.mutex:
            self.busy = False
        self.lockstep.notify()
        with self.not_empty:
            while not self._qsize():
                if self._released:
                    raise queue.Empty
                self.not_empty.wait(_RECHECK_S)
            item = self._get()
            self.busy = True
            self.not_full.notify()
            return item
