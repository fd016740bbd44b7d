"""A coordinator's view of the floor, read from the broker like any other client."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt

from contract import (
    ContractError,
    MachineState,
    MachineTopic,
    SessionRecord,
    StateChange,
    Telemetry,
    TopicKind,
    decode_message,
)
from contract.mqtt import BrokerOptions, MqttConnectError, make_client

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MachineView:
    """What the floor shows of one machine."""

    machine: str
    state: MachineState = MachineState.OFFLINE
    member: str | None = None
    since_ms: int | None = None
    amps: float = 0.0


class FloorWatcher:
    """Follows the retained states, the telemetry and the closed sessions of one site."""

    def __init__(self, *, broker: BrokerOptions, site: str) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._machines: dict[str, MachineView] = {}
        self._sessions_seen: set[str] = set()
        self._subscribed = threading.Event()
        # Each watcher is its own client: several coordinators may watch at once.
        self._client = make_client(
            broker, fallback_client_id=f"officina-watch-{site}-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def __enter__(self) -> FloorWatcher:
        self._client.connect_in_background()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the watcher receives what the broker publishes."""
        return self._subscribed.wait(timeout)

    @property
    def connect_error(self) -> MqttConnectError | None:
        """Why the last attempt to connect failed (an untrusted certificate, a refusal), if so."""
        return self._client.connect_error

    def machines(self) -> list[MachineView]:
        """A snapshot of every machine seen, by id."""
        with self._lock:
            return [self._machines[m] for m in sorted(self._machines)]

    @property
    def sessions_published(self) -> int:
        """How many distinct closed sessions the gateways have published."""
        with self._lock:
            return len(self._sessions_seen)

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        kinds = (TopicKind.STATE, TopicKind.TELEMETRY, TopicKind.SESSIONS)
        client.subscribe([(MachineTopic.filter(self.site, "+", k), 1) for k in kinds])

    def _on_subscribe(self, *_: Any) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            message = decode_message(msg.topic, bytes(msg.payload))
        except ContractError as err:
            log.warning("floor view ignores a bad message on %s: %s", msg.topic, err)
            return
        topic, payload = message.topic, message.payload
        if not isinstance(topic, MachineTopic):
            return
        with self._lock:
            view = self._machines.get(topic.machine, MachineView(topic.machine))
            if isinstance(payload, StateChange):
                view = replace(
                    view, state=payload.state, member=payload.member, since_ms=payload.since
                )
            elif isinstance(payload, Telemetry):
                view = replace(view, amps=payload.amps)
            elif isinstance(payload, SessionRecord):
                self._sessions_seen.add(payload.id)
            self._machines[topic.machine] = view
