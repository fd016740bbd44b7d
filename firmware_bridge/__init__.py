"""Serial protocol v1 between the gateway and a machine's microcontroller, and an emulated board."""

from firmware_bridge.bridge import Bridge, Reading
from firmware_bridge.clock import Clock, ManualClock, ScaledClock, SystemClock
from firmware_bridge.codec import MAX_LINE, Decoder, crc16, decode_line, encode
from firmware_bridge.emulator import Emulator
from firmware_bridge.errors import (
    BridgeError,
    DeviceNotRespondingError,
    FrameError,
    LinkDownError,
    LinkError,
    ProtocolMismatchError,
    RejectKind,
    RelayMismatchError,
    RelayNotAcknowledgedError,
)
from firmware_bridge.frames import (
    FRAME_TYPES,
    PROTOCOL_VERSION,
    CardRead,
    DeviceError,
    Frame,
    Heartbeat,
    Hello,
    Measurement,
    Ping,
    RelayAck,
    RelayCommand,
)
from firmware_bridge.profiles import PROFILES, Load, MachineProfile, machine_profile
from firmware_bridge.transport import Backoff, SerialLink

__all__ = [
    "FRAME_TYPES",
    "MAX_LINE",
    "PROFILES",
    "PROTOCOL_VERSION",
    "Backoff",
    "Bridge",
    "BridgeError",
    "CardRead",
    "Clock",
    "Decoder",
    "DeviceError",
    "DeviceNotRespondingError",
    "Emulator",
    "Frame",
    "FrameError",
    "Heartbeat",
    "Hello",
    "LinkDownError",
    "LinkError",
    "Load",
    "MachineProfile",
    "ManualClock",
    "Measurement",
    "Ping",
    "ProtocolMismatchError",
    "Reading",
    "RejectKind",
    "RelayAck",
    "RelayCommand",
    "RelayMismatchError",
    "RelayNotAcknowledgedError",
    "ScaledClock",
    "SerialLink",
    "SystemClock",
    "crc16",
    "decode_line",
    "encode",
    "machine_profile",
]
