"""ADS1115 with an SCT-013 current clamp: RMS amps over whole mains cycles, sampled over I²C.

The ADC converts continuously at its fastest rate, 860 samples/s, on one input (single-ended or
differential) with a chosen full scale. That is only about 17 samples per 50 Hz cycle, far too
few to see the waveform's shape, but RMS does not need the shape: with a sample rate that is not
a whole multiple of the mains frequency, successive samples fall on ever-different phases, so
over many cycles (10 cycles = 200 ms by default) they cover the cycle evenly and the mean square
converges to the true one. Harmonics above the Nyquist frequency fold back to lower frequencies
but keep their power, so they still count in the RMS. The window is a whole number of cycles, so
the DC offset (the clamp's bias, or the ADC's) is removed as the window's mean.

The chip's own oscillator may run up to 10 % slow, and a conversion register read twice would
count one sample twice, so the driver paces its reads at 90 % of 860/s (about 155 samples per
200 ms window) and never reads faster than the chip converts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from firmware_bridge.clock import Clock, SystemClock
from gateway.drivers.base import CurrentReading, DeviceAbsentError, DriverError
from gateway.drivers.faults import Tally
from gateway.energy import RegisterRange

logger = logging.getLogger(__name__)

ENERGY_REGISTER: RegisterRange | None = None
"""The ADS1115 measures current only: it has no energy register; energy is estimated from amps."""

CONVERSION_REGISTER = 0x00
CONFIG_REGISTER = 0x01
SAMPLES_PER_S = 860
_DR_860 = 0b111 << 5
_COMPARATOR_OFF = 0b11
_MODE_SINGLE_SHOT = 1 << 8
_OS = 1 << 15
_OSCILLATOR_SLACK = 0.9  # the datasheet allows the data rate to be 10 % off
PACE_S = 1.0 / (SAMPLES_PER_S * _OSCILLATOR_SLACK)

MUX: Mapping[str, int] = MappingProxyType(
    {
        "A0-A1": 0b000,
        "A0-A3": 0b001,
        "A1-A3": 0b010,
        "A2-A3": 0b011,
        "A0": 0b100,
        "A1": 0b101,
        "A2": 0b110,
        "A3": 0b111,
    }
)
"""The input multiplexer: a pair is differential, a single pin is measured against GND."""

PGA: Mapping[float, int] = MappingProxyType(
    {6.144: 0b000, 4.096: 0b001, 2.048: 0b010, 1.024: 0b011, 0.512: 0b100, 0.256: 0b101}
)
"""The programmable gain, by its full-scale voltage (± volts)."""

Channel = Literal["A0-A1", "A0-A3", "A1-A3", "A2-A3", "A0", "A1", "A2", "A3"]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class SMBus(Protocol):
    """The part of `smbus2.SMBus` the driver uses; a fake ADS1115 offers the same."""

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None:
        """Write bytes to a register."""
        ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        """Read bytes from a register."""
        ...

    def close(self) -> None:
        """Release the bus."""
        ...


class Config(BaseModel):
    """An SCT-013 clamp on an ADS1115: wiring, gain and calibration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    driver: Literal["ads1115"]
    i2c_bus: Annotated[int, Field(ge=0)] = 1
    address: Annotated[int, Field(ge=0x48, le=0x4B)] = 0x48
    channel: Channel = "A0-A1"
    full_scale_v: float = 2.048
    # A voltage-output clamp (SCT-013-030: 30 A per volt) gives amps_per_volt directly; a
    # current-output one (SCT-013-000, 2000 turns) gives it as turns / burden resistance.
    amps_per_volt: Positive | None = None
    ct_turns: Annotated[int, Field(gt=0)] | None = None
    burden_ohms: Positive | None = None
    mains_hz: Positive = 50.0
    cycles: Annotated[int, Field(ge=1, le=100)] = 10

    @field_validator("full_scale_v")
    @classmethod
    def _a_gain_the_chip_has(cls, value: float) -> float:
        if value not in PGA:
            raise ValueError(f"expected one of {', '.join(str(v) for v in PGA)} (volts)")
        return value

    @model_validator(mode="after")
    def _one_calibration(self) -> Self:
        by_burden = self.ct_turns is not None or self.burden_ohms is not None
        if (self.amps_per_volt is None) == (not by_burden):
            raise ValueError(
                "amps_per_volt: give either amps_per_volt or both ct_turns and burden_ohms"
            )
        if by_burden and (self.ct_turns is None or self.burden_ohms is None):
            raise ValueError("burden_ohms: ct_turns and burden_ohms go together")
        return self

    @property
    def calibration(self) -> float:
        """Amps in the clamped wire per RMS volt at the ADC."""
        if self.amps_per_volt is not None:
            return self.amps_per_volt
        assert self.ct_turns is not None and self.burden_ohms is not None
        return self.ct_turns / self.burden_ohms

    @property
    def window_s(self) -> float:
        """How long one measurement samples: `cycles` whole mains cycles."""
        return self.cycles / self.mains_hz

    def config_word(self) -> int:
        """The ADS1115 config register: continuous, 860 SPS, comparator off."""
        return (
            _OS | MUX[self.channel] << 12 | PGA[self.full_scale_v] << 9 | _DR_860 | _COMPARATOR_OFF
        )


def rms_amps(samples: list[int], *, full_scale_v: float, amps_per_volt: float) -> float:
    """RMS amps of raw conversions: DC offset removed, scaled by the gain and calibration."""
    volts = [raw * full_scale_v / 32768 for raw in samples]
    mean = math.fsum(volts) / len(volts)
    square = math.fsum((v - mean) ** 2 for v in volts) / len(volts)
    return math.sqrt(square) * amps_per_volt


class Driver:
    """An ADS1115 sampling a CT clamp; `read()` takes one window of samples (200 ms by default)."""

    def __init__(
        self, config: Config, *, bus: SMBus | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._bus = bus
        self._i2c: SMBus | None = None
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._word = config.config_word()
        self._where = f"ads1115 i2c-{config.i2c_bus}@{config.address:#04x} {config.channel}"
        self._tally = Tally(self._where, logger)

    @property
    def counters(self) -> Mapping[str, int]:
        """`reads`, `samples`, `chip_reset`, `clipped`, `bus_error`."""
        return self._tally.snapshot

    def open(self) -> None:
        """Open the I²C bus and start continuous conversion (DeviceAbsentError if no chip)."""
        if self._i2c is not None:
            return
        if self._bus is not None:
            i2c = self._bus
        else:
            import smbus2  # type: ignore[import-not-found,unused-ignore]

            try:
                i2c = smbus2.SMBus(self.config.i2c_bus)
            except OSError as err:
                raise DeviceAbsentError(f"{self._where}: no I²C bus: {err}") from err
        try:
            self._configure(i2c)
        except OSError as err:
            if self._bus is None:
                i2c.close()
            raise DeviceAbsentError(f"{self._where}: no answer at the address: {err}") from err
        self._i2c = i2c

    def read(self) -> CurrentReading | None:
        """RMS amps over one window; a chip that lost its setup is set up again first."""
        i2c = self._i2c
        if i2c is None:
            raise DriverError(f"{self._where}: not open")
        try:
            if self._read_word(i2c, CONFIG_REGISTER) & ~_OS != self._word & ~_OS:
                # A brown-out or a glitch returned the chip to its power-on single-shot setup.
                self._tally.reject("chip_reset", "config register lost; set up again")
                self._configure(i2c)
            samples = self._sample(i2c)
        except OSError as err:
            self._tally.reject("bus_error", f"I²C transfer failed: {err}")
            raise DriverError(f"{self._where}: I²C transfer failed: {err}") from err
        if any(raw in (32767, -32768) for raw in samples):
            self._tally.reject(
                "clipped", f"input beyond ±{self.config.full_scale_v} V: amps read low"
            )
        self._tally.count("reads")
        self._tally.count("samples", len(samples))
        amps = rms_amps(
            samples,
            full_scale_v=self.config.full_scale_v,
            amps_per_volt=self.config.calibration,
        )
        return CurrentReading(amps=amps)

    def close(self) -> None:
        """Put the chip back to single-shot (it powers down) and release the bus."""
        i2c, self._i2c = self._i2c, None
        if i2c is None:
            return
        try:
            self._write_word(i2c, CONFIG_REGISTER, self._word | _MODE_SINGLE_SHOT)
        except OSError as err:
            logger.debug("%s: could not power down: %s", self._where, err)
        if self._bus is None:
            i2c.close()

    def _configure(self, i2c: SMBus) -> None:
        self._write_word(i2c, CONFIG_REGISTER, self._word)
        # The first conversion in the new setup is ready one conversion time later.
        self._clock.sleep(2 * PACE_S)

    def _sample(self, i2c: SMBus) -> list[int]:
        """Read the conversion register at the pace of conversions until the window is full."""
        clock = self._clock
        start = clock.monotonic()
        end = start + self.config.window_s
        due = start
        samples: list[int] = []
        while due < end:
            clock.sleep(due - clock.monotonic())
            raw = self._read_word(i2c, CONVERSION_REGISTER)
            samples.append(raw - 0x10000 if raw & 0x8000 else raw)
            now = clock.monotonic()
            due += PACE_S
            if due < now:  # fell behind (a busy Pi): no catching up with back-to-back reads
                due = now + PACE_S
        return samples

    def _read_word(self, i2c: SMBus, register: int) -> int:
        high, low = i2c.read_i2c_block_data(self.config.address, register, 2)
        return high << 8 | low

    def _write_word(self, i2c: SMBus, register: int, word: int) -> None:
        i2c.write_i2c_block_data(self.config.address, register, [word >> 8, word & 0xFF])
