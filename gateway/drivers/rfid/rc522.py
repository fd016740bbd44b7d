"""MFRC522 (RC522 boards) over SPI: ISO 14443 type A cards, anticollision done register by register.

Each `read()` is one poll: WUPA as a 7-bit short frame (BitFramingReg = 0x07), then per cascade
level ANTICOLLISION (SEL 0x20) for four UID bytes and their BCC and SELECT (SEL 0x70 with CRC_A)
for the SAK, which says whether another level follows (7- and 10-byte UIDs), then HLTA. WUPA, not
REQA, because it also wakes a card halted by the previous poll: a card held to the reader answers
every poll, which is how the driver knows it is still there and reports it once per presentation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from firmware_bridge.clock import Clock, SystemClock
from gateway.drivers.base import CardReading, DeviceAbsentError, DriverError
from gateway.drivers.faults import GarbageError, Tally
from gateway.drivers.rfid.iso14443a import (
    CASCADE_TAG,
    HLTA,
    SAK_UID_INCOMPLETE,
    SELECT,
    WUPA,
    bcc,
    crc_a,
)
from gateway.drivers.rfid.presence import Presence

logger = logging.getLogger(__name__)

# Registers (MFRC522 datasheet, section 9).
COMMAND = 0x01
COM_IRQ = 0x04
ERROR = 0x06
FIFO_DATA = 0x09
FIFO_LEVEL = 0x0A
CONTROL = 0x0C
BIT_FRAMING = 0x0D
COLL = 0x0E
MODE = 0x11
TX_CONTROL = 0x14
TX_ASK = 0x15
T_MODE = 0x2A
T_PRESCALER = 0x2B
T_RELOAD_H = 0x2C
T_RELOAD_L = 0x2D
VERSION = 0x37

# Commands written to CommandReg.
IDLE = 0x00
TRANSCEIVE = 0x0C
SOFT_RESET = 0x0F

_POWER_DOWN = 0x10
_START_SEND = 0x80
_RX_IRQ = 0x20
_IDLE_IRQ = 0x10
_TIMER_IRQ = 0x01
_ERR_COLLISION = 0x08
_ERR_PROTOCOL = 0x13  # buffer overflow, parity, protocol
_CHIP_TIMEOUT_S = 0.1  # the chip's own 25 ms timer ends a transceive; this bounds a dead chip
VERSIONS: Mapping[int, str] = {0x91: "MFRC522 v1.0", 0x92: "MFRC522 v2.0", 0x88: "FM17522"}


class SpiDevice(Protocol):
    """The part of `spidev.SpiDev` the driver uses; a fake MFRC522 offers the same."""

    def xfer2(self, data: list[int]) -> list[int]:
        """Clock `data` out with chip-select held; the bytes clocked in."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


class Config(BaseModel):
    """An RC522 board on the Pi's SPI bus."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    driver: Literal["rc522"]
    spi_bus: Annotated[int, Field(ge=0)] = 0
    spi_device: Annotated[int, Field(ge=0)] = 0
    spi_hz: Annotated[int, Field(ge=10_000, le=10_000_000)] = 1_000_000
    release_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0


class Driver:
    """An MFRC522 polled for a card on each `read()`."""

    def __init__(
        self, config: Config, *, bus: SpiDevice | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._bus = bus
        self._spi: SpiDevice | None = None
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._presence = Presence(config.release_s)
        self._where = f"rc522 spi{config.spi_bus}.{config.spi_device}"
        self._tally = Tally(self._where, logger)
        self.version: int | None = None

    @property
    def counters(self) -> Mapping[str, int]:
        """`reads`, `cards`, `bad_bcc`, `bad_crc`, `bad_reply`, `protocol_error`, `collision`."""
        return self._tally.snapshot

    def open(self) -> None:
        """Open SPI, reset the chip, set its timer and turn the antenna on."""
        if self._spi is not None:
            return
        spi = self._bus if self._bus is not None else self._open_spidev()
        self._spi = spi
        try:
            self._set_up()
        except (OSError, DriverError):
            self.close()
            raise

    def read(self) -> CardReading | None:
        """A card newly held to the reader, or None; one poll of a few milliseconds."""
        try:
            uid = self._poll()
        except GarbageError as err:
            self._tally.reject_error(err)
            return None
        except OSError as err:
            raise DriverError(f"{self._where}: SPI transfer failed: {err}") from err
        if uid is None:
            return None
        self._tally.count("reads")
        if not self._presence.seen(uid, self._clock.monotonic()):
            return None
        self._tally.count("cards")
        return CardReading(uid=uid)

    def close(self) -> None:
        """Turn the antenna off and release SPI."""
        spi, self._spi = self._spi, None
        if spi is None:
            return
        try:
            self._write(TX_CONTROL, 0x80, spi=spi)
        except OSError as err:
            logger.debug("%s: antenna not switched off: %s", self._where, err)
        if self._bus is None:
            spi.close()

    # ----- the chip --------------------------------------------------------------------------

    def _open_spidev(self) -> SpiDevice:
        import spidev  # type: ignore[import-not-found,import-untyped,unused-ignore]

        device = spidev.SpiDev()
        try:
            device.open(self.config.spi_bus, self.config.spi_device)
        except OSError as err:
            raise DeviceAbsentError(f"{self._where}: no SPI device: {err}") from err
        device.max_speed_hz = self.config.spi_hz
        device.mode = 0
        spi: SpiDevice = device
        return spi

    def _set_up(self) -> None:
        version = self._read(VERSION)
        if version in (0x00, 0xFF):
            raise DeviceAbsentError(f"{self._where}: no MFRC522 answers (version {version:#04x})")
        self.version = version
        logger.info("%s: %s", self._where, VERSIONS.get(version, f"version {version:#04x}"))
        self._write(COMMAND, SOFT_RESET)
        deadline = self._clock.monotonic() + _CHIP_TIMEOUT_S
        while self._read(COMMAND) & _POWER_DOWN:
            if self._clock.monotonic() > deadline:
                raise DriverError(f"{self._where}: the chip did not come out of soft reset")
            self._clock.sleep(0.001)
        # Timer: TAuto, 40 kHz ticks, 1000 ticks = 25 ms, so a card that does not answer ends
        # the transceive with TimerIRq.
        self._write(T_MODE, 0x80)
        self._write(T_PRESCALER, 0xA9)
        self._write(T_RELOAD_H, 0x03)
        self._write(T_RELOAD_L, 0xE8)
        self._write(TX_ASK, 0x40)  # 100 % ASK, as type A needs
        self._write(MODE, 0x3D)  # CRC preset 0x6363
        self._write(TX_CONTROL, self._read(TX_CONTROL) | 0x03)  # antenna on

    def _poll(self) -> str | None:
        atqa = self._transceive(bytes([WUPA]), bits=7)
        if atqa is None:
            return None
        if len(atqa) != 2:
            raise GarbageError("bad_reply", f"ATQA of {len(atqa)} byte(s): {atqa.hex()}")
        uid = bytearray()
        for select in SELECT:
            part, more = self._cascade_level(select)
            uid += part
            if not more:
                break
        else:
            raise GarbageError("bad_reply", "the card asked for a fourth cascade level")
        self._transceive(bytes([HLTA, 0x00]) + crc_a(bytes([HLTA, 0x00])))  # no answer is OK
        return uid.hex().upper()

    def _cascade_level(self, select: int) -> tuple[bytes, bool]:
        """ANTICOLLISION then SELECT at one level: the UID bytes and whether a level follows."""
        self._write(COLL, self._read(COLL) & 0x7F)  # clear bits received after a collision
        reply = self._transceive(bytes([select, 0x20]))
        if reply is None or len(reply) != 5:
            raise GarbageError("bad_reply", f"anticollision {select:#04x}: {_hex(reply)}")
        if bcc(reply[:4]) != reply[4]:
            raise GarbageError(
                "bad_bcc", f"anticollision {select:#04x}: {reply.hex()}: BCC does not match"
            )
        frame = bytes([select, 0x70]) + reply
        sak = self._transceive(frame + crc_a(frame))
        if sak is None or len(sak) != 3:
            raise GarbageError("bad_reply", f"select {select:#04x}: SAK {_hex(sak)}")
        if crc_a(sak[:1]) != sak[1:]:
            raise GarbageError("bad_crc", f"select {select:#04x}: SAK {sak.hex()}: bad CRC_A")
        more = bool(sak[0] & SAK_UID_INCOMPLETE)
        if more != (reply[0] == CASCADE_TAG):
            raise GarbageError("bad_reply", f"SAK {sak[0]:#04x} and cascade tag disagree")
        return (reply[1:4] if more else reply[:4]), more

    def _transceive(self, data: bytes, *, bits: int = 0) -> bytes | None:
        """Send a frame to the card and return its answer, or None when none came in time."""
        self._write(COMMAND, IDLE)
        self._write(COM_IRQ, 0x7F)  # clear every interrupt request bit
        self._write(FIFO_LEVEL, 0x80)  # flush the FIFO
        self._write(FIFO_DATA, *data)
        self._write(BIT_FRAMING, bits)
        self._write(COMMAND, TRANSCEIVE)
        self._write(BIT_FRAMING, bits | _START_SEND)
        deadline = self._clock.monotonic() + _CHIP_TIMEOUT_S
        while not (irq := self._read(COM_IRQ)) & (_RX_IRQ | _IDLE_IRQ):
            if irq & _TIMER_IRQ:
                return None
            if self._clock.monotonic() > deadline:
                raise DriverError(f"{self._where}: the chip never finished a transceive")
            self._clock.sleep(0.0002)
        self._write(BIT_FRAMING, bits)
        error = self._read(ERROR)
        if error & _ERR_PROTOCOL:
            raise GarbageError("protocol_error", f"ErrorReg {error:#04x} after {data.hex()}")
        if error & _ERR_COLLISION:
            raise GarbageError("collision", "two cards answered at once")
        count = self._read(FIFO_LEVEL) & 0x7F
        if self._read(CONTROL) & 0x07:
            raise GarbageError("bad_reply", f"a partial last byte after {data.hex()}")
        return self._read_fifo(count)

    # ----- SPI addressing: bit 7 read, bits 6..1 the register, bit 0 zero ----------------------

    def _require_spi(self) -> SpiDevice:
        if self._spi is None:
            raise DriverError(f"{self._where}: not open")
        return self._spi

    def _write(self, register: int, *values: int, spi: SpiDevice | None = None) -> None:
        device = spi if spi is not None else self._require_spi()
        device.xfer2([(register << 1) & 0x7E, *values])

    def _read(self, register: int) -> int:
        return self._require_spi().xfer2([((register << 1) & 0x7E) | 0x80, 0])[1]

    def _read_fifo(self, count: int) -> bytes:
        if count == 0:
            return b""
        address = ((FIFO_DATA << 1) & 0x7E) | 0x80
        # A burst read: each byte clocked out names the next register to read, the last is 0.
        return bytes(self._require_spi().xfer2([address] * count + [0])[1:])


def _hex(data: bytes | None) -> str:
    return "no answer" if data is None else data.hex() or "empty"
