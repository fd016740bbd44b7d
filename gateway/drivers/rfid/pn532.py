"""PN532 over I²C: NXP's NFC controller, asked for ISO 14443 type A cards with InListPassiveTarget.

A host frame is preamble 0x00, start code 0x00 0xFF, LEN, LCS (LEN + LCS = 0), TFI 0xD4, the
command and its data, DCS (TFI + data + DCS = 0) and postamble 0x00; the chip answers with an ACK
frame (00 00 FF 00 FF 00), then, when ready, a frame with TFI 0xD5 and the command code + 1. Over
I²C every read message starts with a status byte whose bit 0 says the chip has something to say.

The bus is a raw I²C device (`write(bytes)`, `read(n)`): PN532 messages are not SMBus register
transfers. On the Pi the driver opens `/dev/i2c-N` itself, without a library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from firmware_bridge.clock import Clock, SystemClock
from gateway.drivers.base import CardReading, DeviceAbsentError, DriverError
from gateway.drivers.faults import GarbageError, Tally
from gateway.drivers.i2c_device import I2cDevice, LinuxI2cDevice
from gateway.drivers.rfid.presence import Presence

logger = logging.getLogger(__name__)

HOST_TO_PN532 = 0xD4
PN532_TO_HOST = 0xD5
ACK = bytes([0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00])
NACK = bytes([0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00])
GET_FIRMWARE_VERSION = 0x02
SAM_CONFIGURATION = 0x14
RF_CONFIGURATION = 0x32
IN_LIST_PASSIVE_TARGET = 0x4A
_READY = 0x01
_MAX_FRAME = 64
_ACK_TIMEOUT_S = 0.1
_REPLY_TIMEOUT_S = 0.5
_STATUS_POLL_S = 0.002


class Config(BaseModel):
    """A PN532 board on the Pi's I²C bus (its switches set to I²C)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    driver: Literal["pn532"]
    i2c_bus: Annotated[int, Field(ge=0)] = 1
    address: Annotated[int, Field(ge=0x08, le=0x77)] = 0x24
    release_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0


def host_frame(command: int, params: bytes = b"") -> bytes:
    """A normal information frame from the host carrying `command` and its parameters."""
    body = bytes([HOST_TO_PN532, command]) + params
    length = len(body)
    return (
        bytes([0x00, 0x00, 0xFF, length, -length & 0xFF]) + body + bytes([-sum(body) & 0xFF, 0x00])
    )


def parse_reply(data: bytes, command: int) -> bytes:
    """The data of the chip's answer to `command` (after its TFI and code), or GarbageError."""
    start = data.find(b"\x00\xff")
    if start < 0 or len(data) < start + 4:
        raise GarbageError("bad_frame", f"no start code in {data[:16].hex()}")
    length, check = data[start + 2], data[start + 3]
    if (length + check) & 0xFF:
        raise GarbageError("bad_checksum", f"LEN {length:#04x} with LCS {check:#04x}")
    body = data[start + 4 : start + 4 + length]
    if len(body) < length or len(data) < start + 5 + length:
        raise GarbageError("bad_frame", f"frame cut short: LEN {length}")
    if (sum(body) + data[start + 4 + length]) & 0xFF:
        raise GarbageError("bad_checksum", f"DCS does not match the data {body.hex()}")
    if length == 1 and body[0] == 0x7F:
        raise GarbageError("error_frame", f"the chip answered command {command:#04x} with an error")
    if length < 2 or body[0] != PN532_TO_HOST or body[1] != command + 1:
        raise GarbageError("bad_reply", f"expected D5 {command + 1:02X}, got {body[:2].hex()}")
    return body[2:]


class Driver:
    """A PN532 asked once per `read()` for one type A card at 106 kbps."""

    def __init__(
        self, config: Config, *, bus: I2cDevice | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._bus = bus
        self._i2c: I2cDevice | None = None
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._presence = Presence(config.release_s)
        self._where = f"pn532 i2c-{config.i2c_bus}@{config.address:#04x}"
        self._tally = Tally(self._where, logger)
        self.firmware: str | None = None

    @property
    def counters(self) -> Mapping[str, int]:
        """`reads`, `cards`, and rejects: `bad_checksum`, `bad_frame`, `bad_reply`, `timeout`, …"""
        return self._tally.snapshot

    def open(self) -> None:
        """Open I²C, check the chip's firmware, set the SAM to normal and bound the card search."""
        if self._i2c is not None:
            return
        if self._bus is not None:
            self._i2c = self._bus
        else:
            self._i2c = LinuxI2cDevice(self.config.i2c_bus, self.config.address)
        try:
            version = self._command(GET_FIRMWARE_VERSION)
            if len(version) != 4 or version[0] != 0x32:
                raise DeviceAbsentError(f"{self._where}: not a PN532: {version.hex()}")
            self.firmware = f"{version[1]}.{version[2]}"
            logger.info("%s: PN532 firmware %s", self._where, self.firmware)
            self._command(SAM_CONFIGURATION, bytes([0x01, 0x14, 0x01]))  # normal mode, no SAM
            # MxRtyPassiveActivation = 2: InListPassiveTarget gives up soon when no card is there.
            self._command(RF_CONFIGURATION, bytes([0x05, 0xFF, 0x01, 0x02]))
        except GarbageError as err:
            self.close()
            raise DeviceAbsentError(f"{self._where}: no PN532 answers: {err}") from err
        except OSError as err:
            self.close()
            raise DeviceAbsentError(f"{self._where}: I²C failed: {err}") from err
        except DriverError:
            self.close()
            raise

    def read(self) -> CardReading | None:
        """A card newly held to the reader, or None."""
        try:
            reply = self._command(IN_LIST_PASSIVE_TARGET, bytes([0x01, 0x00]))
            uid = _target_uid(reply)
        except GarbageError as err:
            self._tally.reject_error(err)
            return None
        except OSError as err:
            raise DriverError(f"{self._where}: I²C failed: {err}") from err
        if uid is None:
            return None
        self._tally.count("reads")
        if not self._presence.seen(uid, self._clock.monotonic()):
            return None
        self._tally.count("cards")
        return CardReading(uid=uid)

    def close(self) -> None:
        """Release I²C."""
        i2c, self._i2c = self._i2c, None
        if i2c is not None and self._bus is None:
            i2c.close()

    def _command(self, command: int, params: bytes = b"") -> bytes:
        i2c = self._i2c
        if i2c is None:
            raise DriverError(f"{self._where}: not open")
        i2c.write(host_frame(command, params))
        self._await_ready(i2c, _ACK_TIMEOUT_S, f"no ACK to command {command:#04x}")
        ack = i2c.read(1 + len(ACK))[1:]
        if ack == NACK:
            raise GarbageError("nack", f"the chip refused the frame of command {command:#04x}")
        if ack != ACK:
            raise GarbageError("bad_frame", f"expected an ACK, got {ack.hex()}")
        self._await_ready(i2c, _REPLY_TIMEOUT_S, f"no answer to command {command:#04x}")
        return parse_reply(i2c.read(1 + _MAX_FRAME)[1:], command)

    def _await_ready(self, i2c: I2cDevice, timeout_s: float, what: str) -> None:
        deadline = self._clock.monotonic() + timeout_s
        while not i2c.read(1)[0] & _READY:
            if self._clock.monotonic() > deadline:
                raise GarbageError("timeout", f"{what} within {timeout_s} s")
            self._clock.sleep(_STATUS_POLL_S)


def _target_uid(reply: bytes) -> str | None:
    """The NFCID1 of the first target in an InListPassiveTarget answer, None for no target."""
    if not reply:
        raise GarbageError("bad_reply", "InListPassiveTarget answer without NbTg")
    if reply[0] == 0:
        return None
    # Tg, SENS_RES (2), SEL_RES, NFCIDLength, NFCID1...
    if len(reply) < 6 or len(reply) < 6 + reply[5]:
        raise GarbageError("bad_reply", f"target data cut short: {reply.hex()}")
    length = reply[5]
    if length not in (4, 7, 10):
        raise GarbageError("bad_reply", f"a UID of {length} bytes")
    return reply[6 : 6 + length].hex().upper()
