"""The gateway daemon: one worker thread per machine, one MQTT link for all of them."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from types import TracebackType

from contract import (
    ContractError,
    GatewayBookings,
    GatewayPolicy,
    GatewayTopic,
    MachineTopic,
    Message,
    TopicKind,
    decode_payload,
    encode_payload,
)
from firmware_bridge.clock import Clock, SystemClock
from gateway import __version__
from gateway.config import GatewayConfig, MachineConfig
from gateway.credit import CreditGate
from gateway.drivers import MachineDrivers, build_machine
from gateway.link import GatewayLink, LinkOptions
from gateway.reservations import ReservationGate
from gateway.session import (
    MachineSessions,
    OpenSessionSnapshot,
)
from gateway.spool import Spool
from gateway.worker import MachineWorker, Retune

log = logging.getLogger(__name__)


DriversFactory = Callable[[MachineConfig], MachineDrivers]


def _build_drivers(config: MachineConfig) -> MachineDrivers:
    return build_machine(
        current=config.current, reader=config.reader, relay=config.relay, warning=config.warning
    )


class Gateway:
    """The whole gateway: its link to the broker and a worker per machine."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        clock: Clock | None = None,
        drivers_factory: DriversFactory = _build_drivers,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        key = config.site_key_bytes()
        self.spool = Spool(
            config.spool.path,
            max_telemetry=config.spool.max_telemetry,
            full_policy=config.spool.full_policy,
        )
        self.link = GatewayLink(
            LinkOptions(
                site=config.site,
                gateway=config.gateway,
                machines=tuple(m.id for m in config.machines),
                broker=config.broker.options(),
                status_interval_s=config.broker.status_interval_s,
                software_version=__version__,
            ),
            spool=self.spool,
            deliver=self._deliver,
            wall_ms=self.clock.wall_ms,
        )
        self.reservations = {m.id: ReservationGate(m.id) for m in config.machines}
        self.workers = {
            m.id: MachineWorker(
                config=m,
                sessions=self._sessions(m, key),
                drivers=drivers_factory(m),
                publisher=self.link,
                site_key=key,
                spool=self.spool,
                journal_interval_s=config.spool.journal_interval_s,
            )
            for m in config.machines
        }
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._config_lock = threading.Lock()
        # -1: the first config from the api, even version 0, replaces gateway.toml's fallback.
        self._config_version = -1
        self._bookings_version = -1
        self._counters: Counter[str] = Counter()

    def _sessions(self, machine: MachineConfig, key: bytes) -> MachineSessions:
        gate = self.reservations[machine.id]
        sessions = MachineSessions(
            machine.id,
            thresholds=machine.thresholds(),
            policy=machine.policy(),
            access=self.config.access_for(machine.id, key),
            clock=self.clock,
            gates=(gate, CreditGate(machine.id, self.spool)),
            notices=(gate,),
        )
        gate.follow(lambda: sessions.open_member)
        return sessions

    def _deliver(self, message: Message) -> None:
        topic, payload = message.topic, message.payload
        if isinstance(topic, MachineTopic) and topic.machine in self.workers:
            self.workers[topic.machine].inbox.put(message)
        elif isinstance(topic, GatewayTopic) and isinstance(payload, GatewayPolicy):
            self._take_config(payload, from_disk=False)
        elif isinstance(topic, GatewayTopic) and isinstance(payload, GatewayBookings):
            self._take_bookings(payload, from_disk=False)

    @property
    def bookings_version(self) -> int:
        """The version of the api's bookings the machines run by (-1: none yet)."""
        with self._config_lock:
            return self._bookings_version

    def _take_bookings(self, payload: GatewayBookings, *, from_disk: bool) -> None:
        """Hand newer bookings to each machine's gate, and keep them on disk."""
        with self._config_lock:
            if payload.version <= self._bookings_version:
                self._counters["bookings.stale"] += 1
                return
            self._bookings_version = payload.version
            self._counters["bookings.taken"] += 1
        if not from_disk:
            self.spool.store_bookings(self.config.gateway, payload.version, encode_payload(payload))
        named = {plan.machine: plan for plan in payload.machines}
        for machine, gate in self.reservations.items():
            # A machine the bookings do not name is not bookable (any more): nothing to keep.
            gate.take(named.get(machine))
        log.info(
            "bookings v%d%s: %d bookings on %d machines",
            payload.version,
            " from disk" if from_disk else "",
            sum(len(plan.bookings) for plan in payload.machines),
            len(payload.machines),
        )

    def _restore_bookings(self) -> None:
        """Take the bookings kept on disk: a rebooted gateway without network keeps them."""
        stored = self.spool.bookings(self.config.gateway)
        if stored is None:
            return
        try:
            payload = decode_payload(TopicKind.BOOKINGS, stored)
        except ContractError as err:
            log.error("stored bookings unreadable, none enforced: %s", err)
            return
        if isinstance(payload, GatewayBookings):
            self._take_bookings(payload, from_disk=True)

    @property
    def config_version(self) -> int:
        """The version of the api's config the machines run by (-1: gateway.toml's fallback)."""
        with self._config_lock:
            return self._config_version

    def _take_config(self, payload: GatewayPolicy, *, from_disk: bool) -> None:
        """Hand a newer config's policies to the machine workers, and keep it on disk."""
        with self._config_lock:
            if payload.version <= self._config_version:
                self._counters["config.stale"] += 1
                return
            self._config_version = payload.version
            self._counters["config.taken"] += 1
        if not from_disk:
            self.spool.store_config(self.config.gateway, payload.version, encode_payload(payload))
        served = {m.id: m for m in self.config.machines}
        for policy in payload.machines:
            machine = served.get(policy.machine)
            if machine is None:
                with self._config_lock:
                    self._counters["config.unknown_machine"] += 1
                log.warning("config v%d names %s, not served here", payload.version, policy.machine)
                continue
            retune = Retune(machine.tuned(policy), payload.version, policy.out_of_order)
            self.workers[machine.id].inbox.put(retune)
        log.info(
            "config v%d%s: policy of %d machines",
            payload.version,
            " from disk" if from_disk else "",
            len(payload.machines),
        )

    def _restore_config(self) -> None:
        """Take the config kept on disk: a rebooted gateway without network keeps its policy."""
        stored = self.spool.config(self.config.gateway)
        if stored is None:
            return
        try:
            payload = decode_payload(TopicKind.CONFIG, stored)
        except ContractError as err:
            log.error("stored config unreadable, gateway.toml's policy used: %s", err)
            return
        if isinstance(payload, GatewayPolicy):
            self._take_config(payload, from_disk=True)

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
        # Before any worker reads a sample: each machine starts under its last known policy.
        self._restore_config()
        self._restore_bookings()
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
        with self._config_lock:
            merged.update(self._counters)
        for machine, worker in self.workers.items():
            merged.update({f"{machine}.{k}": v for k, v in worker.counters.items()})
        return merged
