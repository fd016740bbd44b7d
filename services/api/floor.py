"""The live floor: each machine's retained state, its recent current and its gateway's presence."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from contract import (
    Badge,
    BadgeDecision,
    GatewayStatus,
    GatewayStatusValue,
    GatewayTopic,
    MachineState,
    MachineTopic,
    Message,
    StateChange,
    Telemetry,
)


@dataclass(frozen=True, slots=True)
class MachineLive:
    """What the floor knows of one machine right now; None where nothing was heard yet."""

    machine: str
    state: MachineState | None = None
    member: str | None = None
    session: str | None = None
    since_ms: int | None = None
    changed_ts: int = -1
    amps: float | None = None
    gateway: str | None = None
    gateway_online: bool | None = None
    # From the ledger, not the broker: why the machine is out of order, and its tasks due.
    out_of_order: str | None = None
    tasks_due: int = 0

    @property
    def shown_state(self) -> MachineState:
        """The state a tile shows: a machine whose gateway is gone is offline, whatever it said."""
        if self.gateway_online is False or self.state is None:
            return MachineState.OFFLINE
        return self.state


class ChangeKind(StrEnum):
    """What changed on the floor."""

    STATE = "state"
    GATEWAY = "gateway"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class FloorChange:
    """One change, with the machines as they are after it."""

    kind: ChangeKind
    machines: tuple[MachineLive, ...]


@dataclass(frozen=True, slots=True)
class RefusedCard:
    """A card a gateway refused: the card only as the start of its keyed hash, never its UID."""

    machine: str
    card: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ServiceMark:
    """What the floor shows of a machine's maintenance: why it is out of order, tasks due."""

    out_of_order: str | None = None
    tasks_due: int = 0


SHORT_CARD = 8  # hex digits of a card's keyed hash shown to staff

FloorListener = Callable[[FloorChange], None]
RefusalListener = Callable[[RefusedCard], None]


class Floor:
    """Thread-safe picture of one site's floor, fed by the broker, read by requests."""

    def __init__(self, *, site: str, sparkline_points: int) -> None:
        self.site = site
        self._points = sparkline_points
        self._lock = threading.Lock()
        self._machines: dict[str, MachineLive] = {}
        self._amps: dict[str, deque[float]] = {}
        self._amps_dirty: set[str] = set()
        self._gateways: dict[str, bool] = {}
        self._heard: dict[str, datetime] = {}
        self._listeners: list[FloorListener] = []
        self._refusal_listeners: list[RefusalListener] = []
        # Erased members by id, with the erased id a state naming them is shown under instead.
        self._erased: dict[str, str] = {}

    def listen(self, listener: FloorListener) -> None:
        """Call listener (on the broker's thread: it must not block) after every change."""
        self._listeners.append(listener)

    def listen_to_refusals(self, listener: RefusalListener) -> None:
        """Call listener (on the broker's thread) with every card a gateway refuses."""
        self._refusal_listeners.append(listener)

    def machines(self) -> list[MachineLive]:
        """Every machine heard of, by id."""
        with self._lock:
            return [self._machines[m] for m in sorted(self._machines)]

    def machine(self, machine: str) -> MachineLive:
        """One machine; an unheard-of machine is returned empty (offline)."""
        with self._lock:
            return self._machines.get(machine, MachineLive(machine))

    def gateway_heard(self, gateway: str) -> datetime | None:
        """When the gateway last said it was online or offline; None if never since start."""
        with self._lock:
            return self._heard.get(gateway)

    def sparkline(self, machine: str) -> tuple[float, ...]:
        """The machine's recent amps, oldest first."""
        with self._lock:
            return tuple(self._amps.get(machine, ()))

    def take_amps(self) -> dict[str, float]:
        """The latest amps of each machine measured since the last call."""
        with self._lock:
            taken = {m: self._amps[m][-1] for m in sorted(self._amps_dirty)}
            self._amps_dirty.clear()
            return taken

    def take(self, message: Message) -> None:
        """Apply a state, telemetry, refused-card or gateway-status message of this site."""
        topic, payload = message.topic, message.payload
        if topic.site != self.site:
            return
        change: FloorChange | None = None
        if isinstance(topic, MachineTopic) and isinstance(payload, Badge):
            if payload.decision is BadgeDecision.DENIED:
                at = datetime.fromtimestamp(payload.ts / 1000, UTC)
                refused = RefusedCard(topic.machine, payload.card[:SHORT_CARD], payload.reason, at)
                for refusal_listener in self._refusal_listeners:
                    refusal_listener(refused)
        elif isinstance(topic, MachineTopic) and isinstance(payload, StateChange):
            change = self._take_state(topic.machine, payload)
        elif isinstance(topic, MachineTopic) and isinstance(payload, Telemetry):
            self._take_telemetry(topic.machine, payload)
        elif isinstance(topic, GatewayTopic) and isinstance(payload, GatewayStatus):
            change = self._take_status(topic.gateway, payload)
        if change is not None:
            for listener in self._listeners:
                listener(change)

    def machines_of(self, member: str) -> list[MachineLive]:
        """The machines whose state names a member, by id."""
        with self._lock:
            return [
                self._machines[m]
                for m in sorted(self._machines)
                if self._machines[m].member == member
            ]

    def erase(self, member: str, stand_in: str) -> tuple[MachineLive, ...]:
        """Show `stand_in` wherever a state names `member`, now and later; the machines changed."""
        with self._lock:
            self._erased[member] = stand_in
            changed = tuple(
                replace(live, member=stand_in)
                for live in self._machines.values()
                if live.member == member
            )
            for live in changed:
                self._machines[live.machine] = live
        if changed:
            for listener in self._listeners:
                listener(FloorChange(ChangeKind.STATE, changed))
        return changed

    def mark_service(self, marks: Mapping[str, ServiceMark]) -> tuple[MachineLive, ...]:
        """Show each machine's out-of-order reason and tasks due (a machine not named has none);
        the machines changed, told to the listeners."""
        with self._lock:
            changed = []
            for machine in sorted(marks.keys() | self._machines.keys()):
                current = self._machines.get(machine, MachineLive(machine))
                mark = marks.get(machine, ServiceMark())
                updated = replace(current, out_of_order=mark.out_of_order, tasks_due=mark.tasks_due)
                if updated != current:
                    self._machines[machine] = updated
                    changed.append(updated)
        if changed:
            for listener in self._listeners:
                listener(FloorChange(ChangeKind.SERVICE, tuple(changed)))
        return tuple(changed)

    def _take_state(self, machine: str, change: StateChange) -> FloorChange | None:
        with self._lock:
            current = self._machines.get(machine, MachineLive(machine))
            # Retained state can arrive after a newer live one (a reconnect): keep the newest.
            if current.since_ms is not None and (change.since, change.ts) < (
                current.since_ms,
                current.changed_ts,
            ):
                return None
            updated = replace(
                current,
                state=change.state,
                member=self._erased.get(change.member, change.member) if change.member else None,
                session=change.session,
                since_ms=change.since,
                changed_ts=change.ts,
            )
            self._machines[machine] = updated
        return FloorChange(ChangeKind.STATE, (updated,))

    def _take_telemetry(self, machine: str, telemetry: Telemetry) -> None:
        with self._lock:
            points = self._amps.setdefault(machine, deque(maxlen=self._points))
            points.append(round(telemetry.amps, 3))
            self._amps_dirty.add(machine)
            current = self._machines.get(machine, MachineLive(machine))
            self._machines[machine] = replace(current, amps=telemetry.amps)

    def _take_status(self, gateway: str, status: GatewayStatus) -> FloorChange | None:
        online = status.status is GatewayStatusValue.ONLINE
        with self._lock:
            self._gateways[gateway] = online
            self._heard[gateway] = datetime.fromtimestamp(status.ts / 1000, UTC)
            named = set(status.machines)
            # An offline last will names no machines: it covers those the gateway last ran.
            if not named:
                named = {m for m, v in self._machines.items() if v.gateway == gateway}
            changed = []
            for machine in sorted(named):
                current = self._machines.get(machine, MachineLive(machine))
                updated = replace(current, gateway=gateway, gateway_online=online)
                self._machines[machine] = updated
                # An online gateway repeats its status every minute: tell only what changed.
                if updated != current:
                    changed.append(updated)
        return FloorChange(ChangeKind.GATEWAY, tuple(changed)) if changed else None
