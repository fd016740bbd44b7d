"""PZEM-004T v3.0: an energy meter on Modbus-RTU at 9600 baud, polled for its ten input registers.

Registers 0x0000-0x0009 (function 0x04): voltage (0.1 V), current (32 bit, 0.001 A), power (32 bit,
0.1 W), energy (32 bit, Wh), frequency (0.1 Hz), power factor (0.01), alarm. 32-bit values come
low word first. The energy counter is reported raw as `meter_wh`, with the range it wraps at
(`ENERGY_REGISTER`): the session layer adds across a wrap and tells a reset apart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.drivers.base import CurrentReading, DriverError
from gateway.drivers.current.modbus import crc_ok, with_crc
from gateway.drivers.faults import GarbageError, Tally
from gateway.drivers.serial_port import SerialPort, open_serial
from gateway.energy import RegisterRange

logger = logging.getLogger(__name__)

ENERGY_REGISTER = RegisterRange(wraps_at_wh=10_000_000, resolution_wh=1.0)
"""The datasheet's energy range is 0-9,999.99 kWh in 1 Wh steps: after 9,999,999 Wh comes 0."""

GENERAL_ADDRESS = 0xF8
"""Answered by any PZEM: usable only when it is the one meter on its line."""
READ_INPUT_REGISTERS = 0x04
RESET_ENERGY = 0x42
REGISTER_COUNT = 10
_REPLY_LENGTH = 3 + 2 * REGISTER_COUNT + 2
_EXCEPTION_LENGTH = 5
_EXCEPTION_CODES = {
    0x01: "illegal function",
    0x02: "illegal address",
    0x03: "illegal data",
    0x04: "slave error",
}


class Config(BaseModel):
    """A PZEM-004T v3.0 on a serial port (a USB-TTL adapter or the Pi's UART)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    driver: Literal["pzem004t"]
    port: str
    baudrate: int = 9600
    address: Annotated[int, Field(ge=0x01, le=0xF8)] = GENERAL_ADDRESS
    timeout_s: Annotated[float, Field(gt=0, le=5, allow_inf_nan=False)] = 0.5


@dataclass(frozen=True, slots=True)
class MeterRegisters:
    """The ten input registers, in units."""

    volts: float
    amps: float
    watts: float
    energy_wh: int
    hertz: float
    power_factor: float
    alarm: bool


def decode_registers(words: list[int]) -> MeterRegisters:
    """The meter's values from its ten 16-bit input registers."""

    def u32(low: int) -> int:
        return words[low] | words[low + 1] << 16

    return MeterRegisters(
        volts=words[0] / 10,
        amps=u32(1) / 1000,
        watts=u32(3) / 10,
        energy_wh=u32(5),
        hertz=words[7] / 10,
        power_factor=words[8] / 100,
        alarm=words[9] == 0xFFFF,
    )


class Driver:
    """A PZEM-004T polled once per `read()`; a bad or missing reply gives None and is counted."""

    def __init__(self, config: Config, *, bus: SerialPort | None = None) -> None:
        self.config = config
        self._bus = bus
        self._port: SerialPort | None = None
        self._tally = Tally(f"pzem004t {config.port}@{config.address:#04x}", logger)
        self.last: MeterRegisters | None = None

    @property
    def counters(self) -> Mapping[str, int]:
        """`reads`, `timeout`, `bad_crc`, `exception`, `wrong_reply`, `resets`."""
        return self._tally.snapshot

    def open(self) -> None:
        """Open the serial port (DeviceAbsentError when it is not there)."""
        if self._port is not None:
            return
        if self._bus is not None:
            self._port = self._bus
        else:
            self._port = open_serial(
                self.config.port, baudrate=self.config.baudrate, timeout_s=self.config.timeout_s
            )

    def read(self) -> CurrentReading | None:
        """Poll the meter: amps, volts, watts and its raw Wh counter, or None (counted)."""
        request = bytes([self.config.address, READ_INPUT_REGISTERS, 0, 0, 0, REGISTER_COUNT])
        try:
            reply = self._exchange(with_crc(request), _REPLY_LENGTH)
            words = self._registers(reply)
        except GarbageError as err:
            self._tally.reject_error(err)
            return None
        self._tally.count("reads")
        meter = decode_registers(words)
        self.last = meter
        return CurrentReading(
            amps=meter.amps,
            volts=meter.volts,
            watts=meter.watts,
            meter_wh=float(meter.energy_wh),
            meter_range=ENERGY_REGISTER,
        )

    def reset_energy(self) -> None:
        """Zero the meter's energy counter (DriverError when the meter does not confirm)."""
        request = with_crc(bytes([self.config.address, RESET_ENERGY]))
        try:
            reply = self._exchange(request, len(request))
        except GarbageError as err:
            self._tally.reject_error(err)
            raise DriverError(f"pzem004t {self.config.port}: energy reset: {err}") from err
        if reply != request:
            self._tally.reject("wrong_reply", f"energy reset echoed {reply.hex()}")
            raise DriverError(f"pzem004t {self.config.port}: energy reset not confirmed")
        self._tally.count("resets")

    def close(self) -> None:
        """Release the serial port."""
        port, self._port = self._port, None
        if port is not None and self._bus is None:
            port.close()

    def _exchange(self, request: bytes, reply_length: int) -> bytes:
        """Send a request and take its reply, which is five bytes when the meter refuses."""
        port = self._port
        if port is None:
            raise DriverError(f"pzem004t {self.config.port}: not open")
        try:
            port.reset_input_buffer()  # a late reply to an earlier request must not pass for this
            port.write(request)
            reply = port.read(2)  # address and function say how long the rest is
            refused = len(reply) == 2 and bool(reply[1] & 0x80)
            if len(reply) == 2:
                reply += port.read((_EXCEPTION_LENGTH if refused else reply_length) - 2)
        except OSError as err:
            raise DriverError(f"pzem004t {self.config.port}: serial I/O failed: {err}") from err
        expected = _EXCEPTION_LENGTH if refused else reply_length
        if not reply:
            raise GarbageError("timeout", f"no reply within {self.config.timeout_s} s")
        if len(reply) < expected:
            raise GarbageError("timeout", f"reply cut short: {len(reply)} of {expected} bytes")
        if not crc_ok(reply):
            raise GarbageError("bad_crc", f"reply {reply.hex()} has a bad CRC")
        if refused:
            code = reply[2]
            meaning = _EXCEPTION_CODES.get(code, "unknown")
            raise GarbageError("exception", f"meter refused with code {code:#04x} ({meaning})")
        if request[0] != GENERAL_ADDRESS and reply[0] != request[0]:
            raise GarbageError("wrong_reply", f"reply from address {reply[0]:#04x}")
        if reply[1] != request[1]:
            raise GarbageError("wrong_reply", f"reply to function {reply[1]:#04x}")
        return reply

    def _registers(self, reply: bytes) -> list[int]:
        if reply[2] != 2 * REGISTER_COUNT:
            raise GarbageError("wrong_reply", f"byte count {reply[2]}, expected 20")
        data = reply[3:-2]
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
