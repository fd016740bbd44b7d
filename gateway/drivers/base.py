"""What a hardware driver is: a module exporting `Config` and `Driver`, chosen by `driver = "…"`.

A driver module for a chip (`gateway/drivers/rfid/rdm6300.py`, `current/ads1115.py`, …) exports:

- `Config`: a pydantic model with a `driver: Literal["<name>"]` field and the chip's wiring
  (port, bus, address, pin, calibration), validated at start-up with the rest of the config;
- `ENERGY_REGISTER` (current sensors): the range of the chip's energy counter
  (`gateway.energy.RegisterRange`), or None when it has none and energy is estimated from amps;
- `Driver`: built as `Driver(config, *, bus=None)`, where `bus` is a bus-level stand-in (a fake
  serial port, I²C bus, SPI device or input device simulating the chip) for tests; with `bus=None`
  the driver opens the real bus in `open()`, importing the hardware library there and only there,
  so the package imports on any machine.

A driver must override `open()`, `close()` and its role's method (`read()` for current sensors
and card readers, `set()` for relays). `close()` must leave the hardware safe: a relay driver
de-energises its relay (the machine locks). A relay is *energised* or *de-energised*, never
"open" or "closed": those words belong to door contacts, to sessions and to a driver's bus.
A feature a chip lacks raises `UnsupportedError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gateway.energy import RegisterRange
from gateway.errors import GatewayError


class DriverError(GatewayError):
    """A driver could not talk to its hardware."""


class DeviceAbsentError(DriverError):
    """The device (port, bus, address) is not there."""


class UnsupportedError(DriverError):
    """The chip cannot do what was asked of it."""


@dataclass(frozen=True, slots=True)
class CurrentReading:
    """One measurement of a machine's supply: RMS amps, and more where the sensor knows it."""

    amps: float
    volts: float | None = None
    watts: float | None = None
    # The sensor's own cumulative energy counter, if it has one (it may reset or wrap).
    meter_wh: float | None = None
    # The range that counter wraps at, as its driver declares it (None: it never wraps).
    meter_range: RegisterRange | None = None


@dataclass(frozen=True, slots=True)
class CardReading:
    """A card held to the reader: its UID as hex, as the reader read it."""

    uid: str


@runtime_checkable
class CurrentSensor(Protocol):
    """A current sensor: blocks for at most about one measurement window per `read()`."""

    def open(self) -> None:
        """Open the bus and set the chip up."""
        ...

    def read(self) -> CurrentReading | None:
        """One measurement, or None when none could be taken this time."""
        ...

    def close(self) -> None:
        """Release the bus."""
        ...


@runtime_checkable
class CardReader(Protocol):
    """A card reader: `read()` returns promptly (well under a second) with a new card or None."""

    def open(self) -> None:
        """Open the bus and set the reader up."""
        ...

    def read(self) -> CardReading | None:
        """A newly presented card, once per presentation, or None."""
        ...

    def close(self) -> None:
        """Release the bus."""
        ...


@runtime_checkable
class RelayOutput(Protocol):
    """The machine's interlock: energised lets the machine run, de-energised locks it."""

    def open(self) -> None:
        """Claim the output, leaving the relay de-energised (locked)."""
        ...

    def set(self, energised: bool) -> None:
        """Energise or de-energise the relay; DriverError if the hardware says it did not."""
        ...

    def close(self) -> None:
        """De-energise the relay (fail safe) and release the output."""
        ...
