"""A simulated ADS1115 on an smbus2-like bus, converting input voltages given over time."""

from __future__ import annotations

import errno
import math
from collections.abc import Callable, Mapping

from firmware_bridge.clock import ManualClock

Signal = Callable[[float], float]
"""Volts on an input pin at a time in seconds."""

_POWER_ON = {0x00: 0x0000, 0x01: 0x8583, 0x02: 0x8000, 0x03: 0x7FFF}
_MUX = {
    0b000: ("A0", "A1"),
    0b001: ("A0", "A3"),
    0b010: ("A1", "A3"),
    0b011: ("A2", "A3"),
    0b100: ("A0", None),
    0b101: ("A1", None),
    0b110: ("A2", None),
    0b111: ("A3", None),
}
_FULL_SCALE = {0b000: 6.144, 0b001: 4.096, 0b010: 2.048, 0b011: 1.024, 0b100: 0.512}
_RATES = (8, 16, 32, 64, 128, 250, 475, 860)


def sine(rms_volts: float, *, hz: float = 50.0, offset: float = 0.0, phase: float = 0.3) -> Signal:
    """A mains-like sine of `rms_volts` around `offset`."""
    peak = rms_volts * math.sqrt(2)
    return lambda t: offset + peak * math.sin(2 * math.pi * hz * t + phase)


class FakeAds1115:
    """The chip's four registers; in continuous mode conversion k ends at start + k / rate."""

    def __init__(
        self,
        clock: ManualClock,
        *,
        inputs: Mapping[str, Signal] | None = None,
        address: int = 0x48,
        oscillator_error: float = 0.0,
    ) -> None:
        self.clock = clock
        self.inputs = dict(inputs or {})
        self.address = address
        self.oscillator_error = oscillator_error
        self.registers = dict(_POWER_ON)
        self.conversions_read: list[int] = []  # which conversion each read of register 0 got
        self.closed = False
        self._started: float | None = None
        self._failures = 0

    def brown_out(self) -> None:
        """The supply dipped: every register is back at its power-on value."""
        self.registers = dict(_POWER_ON)
        self._started = None

    def fail_next(self, transfers: int = 1) -> None:
        """The next transfers are not acknowledged (a loose wire)."""
        self._failures = transfers

    @property
    def continuous(self) -> bool:
        """Whether the chip converts continuously."""
        return not self.registers[0x01] & 0x0100

    @property
    def rate(self) -> float:
        """Conversions per second, as the chip's oscillator really makes them."""
        return _RATES[self.registers[0x01] >> 5 & 0b111] * (1 + self.oscillator_error)

    def _check(self, i2c_addr: int) -> None:
        if self._failures:
            self._failures -= 1
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        if i2c_addr != self.address:
            raise OSError(errno.ENXIO, "No such device or address")

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None:
        """Write a 16-bit register, MSB first."""
        self._check(i2c_addr)
        word = data[0] << 8 | data[1]
        if register == 0x01:
            self.registers[0x01] = word & 0x7FFF | 0x8000  # OS reads back as "not converting"
            self._started = self.clock.monotonic() if self.continuous else None
        elif register in (0x02, 0x03):
            self.registers[register] = word

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        """Read a 16-bit register, MSB first."""
        self._check(i2c_addr)
        if register == 0x00:
            self._convert()
        word = self.registers[register]
        if register == 0x01 and self.continuous:
            word &= 0x7FFF  # always converting
        return [word >> 8, word & 0xFF][:length]

    def close(self) -> None:
        """Mark the bus closed."""
        self.closed = True

    def _convert(self) -> None:
        if self._started is None:
            return
        done = math.floor((self.clock.monotonic() - self._started) * self.rate)
        if done < 1:
            self.conversions_read.append(0)  # nothing converted yet: the old value
            return
        self.conversions_read.append(done)
        t = self._started + done / self.rate
        mux = self.registers[0x01] >> 12 & 0b111
        full_scale = _FULL_SCALE.get(self.registers[0x01] >> 9 & 0b111, 0.256)
        positive, negative = _MUX[mux]
        volts = self._volts(positive, t) - (self._volts(negative, t) if negative else 0.0)
        code = max(-32768, min(32767, round(volts / full_scale * 32768)))
        self.registers[0x00] = code & 0xFFFF

    def _volts(self, pin: str, t: float) -> float:
        signal = self.inputs.get(pin)
        return signal(t) if signal is not None else 0.0
