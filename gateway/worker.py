"""One machine's worker: its drivers feed an inbox, one thread decides, the relay obeys.

Two poller threads read the hardware (the current sensor blocks for a measurement window, the
card reader is polled every `READER_POLL_S`) and put what they read into the worker's inbox,
beside the access lists and commands that arrive from the broker. The worker thread alone owns
the session state machine and the relay, so nothing is shared but the queue.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from contract import (
    AccessList as AccessListPayload,
)
from contract import (
    Badge,
    BadgeDecision,
    Command,
    CommandAction,
    ContractError,
    EndReason,
    Envelope,
    Message,
    SessionRecord,
    TopicKind,
    card_hash,
    decode_payload,
    encode_payload,
)
from gateway.access import AccessList, OutOfOrder
from gateway.config import MachineConfig
from gateway.drivers import MachineDrivers
from gateway.drivers.base import CardReading, CurrentReading, DriverError, RelayOutput
from gateway.session import (
    Effect,
    LockWarning,
    LockWarningOver,
    MachineSessions,
    MeterStepBack,
    Publish,
    RelayChange,
    UnattributedUse,
)
from gateway.spool import Spool

log = logging.getLogger(__name__)
READER_POLL_S = 0.05
TICK_S = 0.5
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class Retune:
    """The machine under a new policy from the api's config, version `version`."""

    config: MachineConfig
    version: int
    out_of_order: str | None = None


@dataclass(frozen=True, slots=True)
class Timed:
    """A current reading and the monotonic time its sensor was read."""

    reading: CurrentReading
    at: float


Inbound = Message | Timed | CardReading | Retune


class Publisher(Protocol):
    """What a machine worker needs of the MQTT link."""

    def publish(self, machine: str, payload: Envelope) -> object:
        """Publish a payload on the machine's topic."""
        ...


class MachineWorker:
    """Runs one machine: reads its sensors, drives its session machine and relay, publishes."""

    def __init__(
        self,
        *,
        config: MachineConfig,
        sessions: MachineSessions,
        drivers: MachineDrivers,
        publisher: Publisher,
        site_key: bytes,
        spool: Spool,
        journal_interval_s: float = 2.0,
    ) -> None:
        self.config = config
        self.sessions = sessions
        # The config's out-of-order state, asked when a card would open a session.
        self.out_of_order = OutOfOrder()
        sessions.gates.append(self.out_of_order)
        self.drivers = drivers
        self.publisher = publisher
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self._site_key = site_key
        self._spool = spool
        self._journal_interval_s = journal_interval_s
        self._journaled: tuple[str | None, float] = (None, 0.0)
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()

    @property
    def counters(self) -> Mapping[str, int]:
        """A snapshot of what this machine's worker and its drivers have seen and done."""
        with self._lock:
            merged = dict(self._counters)
        seen: set[int] = set()
        for role, driver in (
            ("current", self.drivers.current),
            ("reader", self.drivers.reader),
            ("relay", self.drivers.relay),
            ("warning", self.drivers.warning),
        ):
            # Roles played by one board (an MCU) share its counters: list them once.
            board = getattr(driver, "board", driver)
            if driver is None or id(board) in seen:
                continue
            seen.add(id(board))
            counters: Mapping[str, int] = getattr(driver, "counters", {})
            merged |= {f"{role}.{k}": v for k, v in counters.items()}
        return merged

    def _count(self, key: str) -> None:
        with self._lock:
            self._counters[key] += 1

    # -- lifecycle ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; the machine is locked on the way out, whatever happens."""
        pollers: list[threading.Thread] = []
        halt = threading.Event()  # stops the pollers, whichever way this worker ends
        try:
            # The readers listen before anything slow happens: a card presented while the access
            # list loads waits in the inbox and is decided against that list, never lost.
            self._open_drivers()
            pollers = self._start_pollers(halt)
            self._restore_access_list()
            self._carry_out(self.sessions.start())
            while not stop.is_set():
                try:
                    item = self.inbox.get(timeout=TICK_S)
                except queue.Empty:
                    pass
                else:
                    self._handle(item)
                self._carry_out(self.sessions.tick())
                self._journal()
        except DriverError as err:
            self._count("driver_failed")
            log.error("machine %s: cannot start its hardware: %s", self.config.id, err)
        finally:
            halt.set()
            for poller in pollers:
                poller.join(5.0)
            self._shut_down()

    def _open_drivers(self) -> None:
        # The relay first: whatever the other drivers do, the machine starts locked. The reader
        # next: a member may be at the machine already, card in hand.
        for output in (self.drivers.relay, self.drivers.warning):
            if output is not None:
                output.open()
        if self.drivers.reader is not None:
            self.drivers.reader.open()
        self.drivers.current.open()

    def _start_pollers(self, stop: threading.Event) -> list[threading.Thread]:
        polls: list[tuple[str, Callable[[], CurrentReading | CardReading | None], float]] = [
            ("current", self.drivers.current.read, 0.0)
        ]
        if self.drivers.reader is not None:
            polls.append(("reader", self.drivers.reader.read, READER_POLL_S))
        threads = [
            threading.Thread(
                target=self._poll,
                args=(role, read, idle_s, stop),
                name=f"{self.config.id}-{role}",
                daemon=True,
            )
            for role, read, idle_s in polls
        ]
        for thread in threads:
            thread.start()
        return threads

    def _poll(
        self,
        role: str,
        read: Callable[[], CurrentReading | CardReading | None],
        idle_s: float,
        stop: threading.Event,
    ) -> None:
        """Read one driver until stopped, putting what it reads into the inbox."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                reading = read()
            except DriverError as err:
                self._count(f"{role}.failed")
                log.warning("machine %s: %s read failed: %s", self.config.id, role, err)
                stop.wait(RETRY_S)
                continue
            if isinstance(reading, CurrentReading):
                self.inbox.put(Timed(reading, self.sessions.clock.monotonic()))
            elif reading is not None:
                self.inbox.put(reading)
            elif idle_s and time.monotonic() - started < idle_s:
                # A driver that answered None at once is polled: do not spin on it.
                stop.wait(idle_s)

    def _shut_down(self) -> None:
        # The interlock drops when the gateway stops: to the session that is a power loss.
        try:
            self._carry_out(self.sessions.shutdown(EndReason.POWER_LOSS))
            self._journal(force=True)
        finally:
            drivers = self.drivers
            for driver in (drivers.reader, drivers.current, drivers.warning, drivers.relay):
                if driver is not None:
                    try:
                        driver.close()
                    except DriverError as err:
                        log.warning("machine %s: closing a driver: %s", self.config.id, err)

    # -- what arrives ---------------------------------------------------------------------------

    def _handle(self, item: Inbound) -> None:
        if isinstance(item, Timed):
            self._count("samples")
            reading = item.reading
            self._carry_out(
                self.sessions.sample(
                    reading.amps,
                    volts=reading.volts,
                    watts=reading.watts,
                    meter_wh=reading.meter_wh,
                    meter_range=reading.meter_range,
                    at=item.at,
                )
            )
        elif isinstance(item, CardReading):
            self._badge(item.uid)
        elif isinstance(item, Retune):
            self._retune(item)
        elif isinstance(item.payload, AccessListPayload):
            self._take_access_list(item.payload)
        elif isinstance(item.payload, Command):
            self._command(item.payload)

    def _badge(self, uid: str) -> None:
        try:
            card = card_hash(uid, self._site_key)
        except ValueError:
            self._count("rejected.card")
            log.warning("machine %s: unreadable card uid ignored", self.config.id)
            return
        self._count("badges")
        self._carry_out(self.sessions.badge(card))

    def _take_access_list(self, payload: AccessListPayload) -> None:
        if self.sessions.replace_access(AccessList.from_payload(payload)):
            self._spool.store_access_list(self.config.id, payload.version, encode_payload(payload))
            log.info(
                "machine %s: access list v%d, %d cards",
                self.config.id,
                payload.version,
                len(payload.entries),
            )

    def _retune(self, retune: Retune) -> None:
        config = retune.config
        self.config = config
        self.sessions.retune(config.thresholds(), config.policy())
        if retune.out_of_order != self.out_of_order.reason:
            log.warning(
                "machine %s: %s",
                config.id,
                "back in order"
                if retune.out_of_order is None
                else f"out of order ({retune.out_of_order}): only staff may start it",
            )
        self.out_of_order.reason = retune.out_of_order
        self._count("retuned")
        log.info(
            "machine %s: policy of config v%d: idle %.2f A, run %.2f A, idle timeout %.0f s, "
            "at most %.0f s",
            config.id,
            retune.version,
            config.idle_amps,
            config.run_amps,
            config.idle_timeout_s,
            config.max_duration_s,
        )

    def _command(self, command: Command) -> None:
        if command.action is CommandAction.LOCK:
            log.info("machine %s: remote lock by %s", self.config.id, command.by)
            self._carry_out(self.sessions.remote_lock())
        else:
            # Unlocking needs a member to bill; the api does it by granting a card instead.
            self._count("rejected.command.action")
            log.warning("machine %s: remote unlock is not accepted by this gateway", self.config.id)

    def _restore_access_list(self) -> None:
        """Take the access list kept on disk: a rebooted gateway without network still works."""
        stored = self._spool.access_list(self.config.id)
        if stored is None:
            return
        try:
            payload = decode_payload(TopicKind.ACL, stored)
        except ContractError as err:
            log.error("machine %s: stored access list unreadable: %s", self.config.id, err)
            return
        if isinstance(payload, AccessListPayload):
            self.sessions.replace_access(AccessList.from_payload(payload))
            log.info("machine %s: access list v%d from disk", self.config.id, payload.version)

    # -- what it does ---------------------------------------------------------------------------

    def _journal(self, *, force: bool = False) -> None:
        """Write the open session to disk when it changes, and every journal interval."""
        session = self.sessions.open_session
        last_id, last_at = self._journaled
        now = self.sessions.clock.monotonic()
        if not force and session == last_id and now - last_at < self._journal_interval_s:
            return
        snapshot = self.sessions.checkpoint()
        self._spool.journal(self.config.id, snapshot.to_json() if snapshot else None)
        self._journaled = (session, now)

    def _carry_out(self, effects: list[Effect]) -> None:
        # The relay first: a member at the machine waits for it, not for the spool's disk write.
        effects = sorted(effects, key=lambda effect: not isinstance(effect, RelayChange))
        for effect in effects:
            if isinstance(effect, Publish):
                self._note(effect.payload)
                self.publisher.publish(self.config.id, effect.payload)
            elif isinstance(effect, RelayChange):
                self._set_relay(effect.energised)
            elif isinstance(effect, UnattributedUse):
                self._count("unattributed_use")
                log.warning(
                    "machine %s: unattributed use, %.2f A with no session open",
                    self.config.id,
                    effect.amps,
                )
            elif isinstance(effect, LockWarning):
                self._count("lock_warnings")
                log.info(
                    "machine %s: locking in %.0f s (%s)",
                    self.config.id,
                    effect.seconds_left,
                    effect.reason,
                )
                self._set_output(self.drivers.warning, True, "warning")
            elif isinstance(effect, LockWarningOver):
                self._set_output(self.drivers.warning, False, "warning")
            elif isinstance(effect, MeterStepBack):
                self._meter_stepped_back(effect)

    def _meter_stepped_back(self, step: MeterStepBack) -> None:
        self._count(f"meter.{step.kind}")
        log.warning(
            "machine %s: energy meter %s (%.3f Wh, then %.3f Wh): %.3f Wh added",
            self.config.id,
            step.kind,
            step.before_wh,
            step.reading_wh,
            step.added_wh,
        )

    def _note(self, payload: Envelope) -> None:
        if isinstance(payload, Badge) and payload.decision is BadgeDecision.DENIED:
            self._count(f"badges.denied.{payload.reason}")
            log.warning(
                "machine %s: card %s… denied (%s)", self.config.id, payload.card[:8], payload.reason
            )
        elif isinstance(payload, SessionRecord):
            self._count("sessions")
            log.info(
                "machine %s: session %s of %s closed (%s), running %.0f s",
                self.config.id,
                payload.id,
                payload.member,
                payload.end_reason,
                payload.running_s,
            )

    def _set_relay(self, energised: bool) -> None:
        self._set_output(self.drivers.relay, energised, "relay")

    def _set_output(self, output: RelayOutput | None, on: bool, role: str) -> None:
        if output is None:
            return
        try:
            output.set(on)
        except DriverError as err:
            self._count(f"{role}_failed")
            log.error("machine %s: %s did not answer: %s", self.config.id, role, err)
