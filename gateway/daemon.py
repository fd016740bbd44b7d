"""The gateway daemon: one worker thread per machine, one MQTT link for all of them."""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from types import TracebackType
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
    MachineTopic,
    Message,
    SessionRecord,
    TopicKind,
    card_hash,
    decode_payload,
    encode_payload,
)
from contract.cards import normalise_uid
from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import BridgeError
from firmware_bridge.frames import CardRead, Measurement
from gateway import __version__
from gateway.access import AccessList
from gateway.clock import Clock, SystemClock
from gateway.config import GatewayConfig, MachineConfig
from gateway.link import GatewayLink, LinkOptions, TlsOptions
from gateway.session import (
    Effect,
    LockWarning,
    MachineSessions,
    OpenSessionSnapshot,
    Publish,
    RelayChange,
    UnattributedUse,
)
from gateway.spool import Spool

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 0.2


class Publisher(Protocol):
    """What a machine worker needs of the MQTT link."""

    def publish(self, machine: str, payload: Envelope) -> object:
        """Publish a payload on the machine's topic."""
        ...


class MachineWorker:
    """Runs one machine: reads its sensor, drives its session machine and relay, publishes."""

    def __init__(
        self,
        *,
        config: MachineConfig,
        sessions: MachineSessions,
        bridge: Bridge,
        publisher: Publisher,
        site_key: bytes,
        spool: Spool,
        journal_interval_s: float = 10.0,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.bridge = bridge
        self.publisher = publisher
        self.inbox: queue.Queue[Message] = queue.Queue()
        self._site_key = site_key
        self._spool = spool
        self._journal_interval_s = journal_interval_s
        self._journaled: tuple[str | None, float] = (None, 0.0)
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()

    @property
    def counters(self) -> Mapping[str, int]:
        """A snapshot of what this machine's worker and its serial link have seen and done."""
        with self._lock:
            mine = dict(self._counters)
        return mine | {f"serial.{k}": v for k, v in self.bridge.counters.items()}

    def _count(self, key: str) -> None:
        with self._lock:
            self._counters[key] += 1

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; the machine is locked on the way out, whatever happens."""
        try:
            self._restore_access_list()
            self.bridge.open()
            self._carry_out(self.sessions.start())
            while not stop.is_set():
                self._drain_inbox()
                self._read_once()
                self._carry_out(self.sessions.tick())
                self._journal()
        except BridgeError as err:
            self._count("bridge_failed")
            log.error("machine %s: sensor bridge failed: %s", self.config.id, err)
        finally:
            self._shut_down()

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

    def _read_once(self) -> None:
        try:
            frame = self.bridge.read(READ_TIMEOUT_S)
        except BridgeError as err:
            self._count("read_errors")
            log.warning("machine %s: read failed: %s", self.config.id, err)
            return
        if isinstance(frame, Measurement):
            if frame.channel != self.config.sensor.channel:
                return
            self._count("samples")
            self._carry_out(
                self.sessions.sample(
                    frame.irms, volts=frame.vrms, watts=frame.watts, meter_wh=frame.wh
                )
            )
        elif isinstance(frame, CardRead):
            self._badge(frame.uid)

    def _badge(self, uid: str) -> None:
        # An access list that arrived while we waited on the serial line must judge this card.
        self._drain_inbox()
        try:
            card = card_hash(normalise_uid(uid), self._site_key)
        except ValueError:
            self._count("rejected.card")
            log.warning("machine %s: unreadable card uid ignored", self.config.id)
            return
        self._count("badges")
        self._carry_out(self.sessions.badge(card))

    def _drain_inbox(self) -> None:
        while True:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return
            payload = message.payload
            if isinstance(payload, AccessListPayload):
                if self.sessions.replace_access(AccessList.from_payload(payload)):
                    self._spool.store_access_list(
                        self.config.id, payload.version, encode_payload(payload)
                    )
                    log.info(
                        "machine %s: access list v%d, %d cards",
                        self.config.id,
                        payload.version,
                        len(payload.entries),
                    )
            elif isinstance(payload, Command):
                self._command(payload)

    def _command(self, command: Command) -> None:
        if command.action is CommandAction.LOCK:
            log.info("machine %s: remote lock by %s", self.config.id, command.by)
            self._carry_out(self.sessions.remote_lock())
        else:
            # Unlocking needs a member to bill; the api does it by granting a card instead.
            self._count("rejected.command.action")
            log.warning("machine %s: remote unlock is not accepted by this gateway", self.config.id)

    def _carry_out(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Publish):
                self._note(effect.payload)
                self.publisher.publish(self.config.id, effect.payload)
            elif isinstance(effect, RelayChange):
                self._set_relay(effect.closed)
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

    def _set_relay(self, closed: bool) -> None:
        try:
            self.bridge.set_relay(self.config.sensor.relay_channel, closed)
        except BridgeError as err:
            self._count("relay_failed")
            log.error("machine %s: relay did not answer: %s", self.config.id, err)

    def _shut_down(self) -> None:
        # The interlock drops when the gateway stops: to the session that is a power loss.
        try:
            self._carry_out(self.sessions.shutdown(EndReason.POWER_LOSS))
            self._journal(force=True)
        finally:
            self.bridge.close()


BridgeFactory = Callable[[MachineConfig], Bridge]


def _open_bridge(config: MachineConfig) -> Bridge:
    return Bridge(config.sensor.port, baudrate=config.sensor.baudrate)


class Gateway:
    """The whole gateway: its link to the broker and a worker per machine."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        clock: Clock | None = None,
        allow_weak_key: bool = False,
        bridge_factory: BridgeFactory = _open_bridge,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        key = config.site_key_bytes(allow_weak=allow_weak_key)
        password = config.broker.password.get_secret_value() if config.broker.password else None
        self.spool = Spool(
            config.spool.path,
            max_telemetry=config.spool.max_telemetry,
            full_policy=config.spool.full_policy,
        )
        tls = config.broker.tls
        self.link = GatewayLink(
            LinkOptions(
                site=config.site,
                gateway=config.gateway,
                machines=tuple(m.id for m in config.machines),
                host=config.broker.host,
                port=config.broker.port,
                username=config.broker.username,
                password=password,
                keepalive_s=config.broker.keepalive_s,
                software_version=__version__,
                tls=TlsOptions(ca_file=tls.ca_file, cert_file=tls.cert_file, key_file=tls.key_file)
                if tls
                else None,
            ),
            spool=self.spool,
            deliver=self._deliver,
            wall_ms=self.clock.wall_ms,
        )
        self.workers = {
            m.id: MachineWorker(
                config=m,
                sessions=MachineSessions(
                    m.id,
                    thresholds=m.thresholds(),
                    policy=m.policy(),
                    access=config.access_for(m.id, key),
                    clock=self.clock,
                ),
                bridge=bridge_factory(m),
                publisher=self.link,
                site_key=key,
                spool=self.spool,
                journal_interval_s=config.spool.journal_interval_s,
            )
            for m in config.machines
        }
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _deliver(self, message: Message) -> None:
        topic = message.topic
        if isinstance(topic, MachineTopic) and topic.machine in self.workers:
            self.workers[topic.machine].inbox.put(message)

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Book what a power cut interrupted, connect, and start one worker per machine."""
        self._recover_lost_sessions()
        self.link.start()
        for machine, worker in self.workers.items():
            thread = threading.Thread(
                target=worker.run, args=(self._stop,), name=f"machine-{machine}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Lock every machine, publish what is left, and disconnect."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.link.stop()
        self.spool.close()

    def _recover_lost_sessions(self) -> None:
        """Sessions still journaled were open when the gateway lost power: close them now."""
        now_ms = self.clock.wall_ms()
        for machine, text in self.spool.journaled().items():
            try:
                record = OpenSessionSnapshot.from_json(text).lost(machine, now_ms=now_ms)
            except ValueError as err:
                log.error("machine %s: journaled session unreadable, dropped: %s", machine, err)
            else:
                log.warning(
                    "machine %s: session %s of %s ended by a power loss; booking it",
                    machine,
                    record.id,
                    record.member,
                )
                self.link.publish(machine, record)
            self.spool.journal(machine, None)

    def wait(self, stop: threading.Event) -> None:
        """Block until `stop` is set (a signal handler sets it)."""
        stop.wait()

    @property
    def counters(self) -> Mapping[str, int]:
        """Counters of the link and of every machine worker, prefixed by where they come from."""
        merged: dict[str, int] = {f"link.{k}": v for k, v in self.link.counters.items()}
        for machine, worker in self.workers.items():
            merged.update({f"{machine}.{k}": v for k, v in worker.counters.items()})
        return merged
