"""The firmware bridge's own errors: bad frames, a lost link, a device that does not answer."""

from __future__ import annotations

from enum import StrEnum


class BridgeError(Exception):
    """Anything the firmware bridge raises."""


class RejectKind(StrEnum):
    """Why a line from the serial port was not a frame; also the decoder's counter names."""

    BAD_CRC = "bad_crc"
    MALFORMED = "malformed"
    UNKNOWN_TYPE = "unknown_type"
    OVERLONG = "overlong"


class FrameError(BridgeError, ValueError):
    """A frame that cannot be encoded, or a line that is not a valid frame."""

    def __init__(
        self,
        kind: RejectKind,
        reason: str,
        *,
        field: str | None = None,
        frame_type: str | None = None,
    ) -> None:
        self.kind = kind
        self.reason = reason
        self.field = field
        self.frame_type = frame_type
        where = " ".join(
            part
            for part in (
                f"{frame_type} frame" if frame_type else "",
                f"field {field}" if field else "",
            )
            if part
        )
        super().__init__(f"{kind}: {where + ': ' if where else ''}{reason}")


class LinkError(BridgeError):
    """The serial port could not be opened, read or written."""

    def __init__(self, port: str, reason: str) -> None:
        self.port = port
        self.reason = reason
        super().__init__(f"serial port {port}: {reason}")


class LinkDownError(LinkError):
    """The serial port is not connected right now (the device vanished; reconnecting)."""


class ProtocolMismatchError(BridgeError):
    """The device speaks another version of the serial protocol."""

    def __init__(self, *, device: int, host: int, firmware: str) -> None:
        self.device = device
        self.host = host
        self.firmware = firmware
        super().__init__(
            f"device firmware {firmware} speaks serial protocol v{device}, this host speaks v{host}"
        )


class DeviceNotRespondingError(BridgeError):
    """The device did not introduce itself (HELLO) after being asked."""


class RelayNotAcknowledgedError(BridgeError):
    """A relay command got no ACK after every retry: the interlock state is unknown."""

    def __init__(self, *, channel: int, energised: bool, attempts: int) -> None:
        self.channel = channel
        self.energised = energised
        self.attempts = attempts
        action = "energise" if energised else "de-energise"
        super().__init__(f"relay {channel}: no ACK to {action} after {attempts} attempts")


class RelayMismatchError(BridgeError):
    """The device acknowledged a relay command but reports a different state."""
