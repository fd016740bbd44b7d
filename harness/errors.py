"""What can go wrong while the harness runs real servers for the tests."""

from __future__ import annotations


class HarnessError(RuntimeError):
    """Base of every error raised by the test harness."""


class MissingServerError(HarnessError):
    """A server binary the tests need is not installed; the message says how to install it."""


class ServerStartError(HarnessError):
    """A server did not come up; the message carries the tail of its log."""

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        self.log_tail = log_tail
        super().__init__(
            f"{message}\n--- last lines of its log:\n{log_tail}" if log_tail else message
        )

    @property
    def port_taken(self) -> bool:
        """Whether the server failed because another process held its port."""
        return "address already in use" in self.log_tail.lower()


class NotReadyError(HarnessError):
    """Something awaited did not happen before its deadline."""


class MqttProbeError(HarnessError):
    """The test's MQTT client was refused or got no answer from the broker."""


class InfluxQueryError(HarnessError):
    """InfluxDB answered a write or a query with an error."""
