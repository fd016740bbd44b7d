"""amqtt as an in-process MQTT broker, for the one-box default when no broker is configured."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from types import TracebackType
from typing import Any

from amqtt.broker import Broker

log = logging.getLogger(__name__)
_amqtt_log = logging.getLogger("amqtt.loop")


def _broker_trouble(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An exception amqtt did not handle, as one warning of its own logger."""
    error = context.get("exception")
    _amqtt_log.warning(
        "embedded broker: %s", context.get("message", "unhandled error"), exc_info=error
    )


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not start."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """Runs amqtt on its own event loop in a background thread, on a free loopback port."""

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop = asyncio.new_event_loop()
        # What amqtt lets escape into its loop (a take-over racing a subscription, on a loaded
        # machine) is the broker's own business: logged under amqtt, where the demo's log keeps it.
        self._loop.set_exception_handler(_broker_trouble)
        self._thread = threading.Thread(target=self._loop.run_forever, name="mqtt-broker")
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        """The broker's address as `mqtt://host:port`."""
        return f"mqtt://{self.host}:{self.port}"

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once clients can connect."""
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(config), self._loop)
        try:
            future.result(timeout)
        except Exception as err:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise EmbeddedBrokerError(f"embedded broker on {self.url}: {err}") from err
        log.info("embedded MQTT broker listening on %s", self.url)

    async def _start(self, config: dict[str, object]) -> None:
        # amqtt binds its futures to the running loop at construction: build it on its own loop.
        self._broker = Broker(config)
        await self._broker.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the broker down and end its thread."""
        if self._broker is not None:
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            try:
                future.result(timeout)
            except Exception as err:
                log.warning("embedded broker did not shut down cleanly: %s", err)
            self._broker = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._loop.close()
