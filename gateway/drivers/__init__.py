"""Hardware drivers, one module per chip, chosen in the config by `driver = "<name>"`.

The tables below are the registry: adding a chip is adding its module, a row in its role's table
and a member in that role's config union. See `gateway.drivers.base` for what a module exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Annotated

from pydantic import Field

from gateway.drivers import mcu
from gateway.drivers.base import CardReader, CurrentSensor, RelayOutput
from gateway.drivers.current import ads1115, pzem004t
from gateway.drivers.relay import gpio
from gateway.drivers.rfid import keyboard, pn532, rc522, rdm6300

CURRENT_DRIVERS: Mapping[str, ModuleType] = MappingProxyType(
    {"ads1115": ads1115, "pzem004t": pzem004t, "mcu": mcu}
)
"""Current sensors by driver name."""

READER_DRIVERS: Mapping[str, ModuleType] = MappingProxyType(
    {"rdm6300": rdm6300, "rc522": rc522, "pn532": pn532, "keyboard": keyboard, "mcu": mcu}
)
"""Card readers by driver name."""

RELAY_DRIVERS: Mapping[str, ModuleType] = MappingProxyType({"gpio": gpio, "mcu": mcu})
"""Relay outputs by driver name."""

CurrentConfig = Annotated[
    ads1115.Config | pzem004t.Config | mcu.Config, Field(discriminator="driver")
]
"""The config of any current sensor, told apart by its `driver` field."""

ReaderConfig = Annotated[
    rdm6300.Config | rc522.Config | pn532.Config | keyboard.Config | mcu.Config,
    Field(discriminator="driver"),
]
"""The config of any card reader, told apart by its `driver` field."""

RelayConfig = Annotated[gpio.Config | mcu.Config, Field(discriminator="driver")]
"""The config of any relay output, told apart by its `driver` field."""


def build_current(config: CurrentConfig, *, bus: object | None = None) -> CurrentSensor:
    """The current sensor `config` names, not yet opened."""
    made = CURRENT_DRIVERS[config.driver].Driver(config, bus=bus)
    sensor = made.current() if isinstance(made, mcu.Driver) else made
    if not isinstance(sensor, CurrentSensor):
        raise TypeError(f"driver {config.driver!r} is not a current sensor")
    return sensor


def build_reader(config: ReaderConfig, *, bus: object | None = None) -> CardReader:
    """The card reader `config` names, not yet opened."""
    made = READER_DRIVERS[config.driver].Driver(config, bus=bus)
    reader = made.reader() if isinstance(made, mcu.Driver) else made
    if not isinstance(reader, CardReader):
        raise TypeError(f"driver {config.driver!r} is not a card reader")
    return reader


def build_relay(config: RelayConfig, *, bus: object | None = None) -> RelayOutput:
    """The relay output `config` names, not yet opened."""
    made = RELAY_DRIVERS[config.driver].Driver(config, bus=bus)
    relay = made.relay() if isinstance(made, mcu.Driver) else made
    if not isinstance(relay, RelayOutput):
        raise TypeError(f"driver {config.driver!r} is not a relay output")
    return relay


@dataclass(frozen=True, slots=True)
class MachineDrivers:
    """The drivers of one machine, not yet opened: a current sensor, and a reader and relay."""

    current: CurrentSensor
    reader: CardReader | None
    relay: RelayOutput | None
    warning: RelayOutput | None = None


class _Boards:
    """The MCU boards of one machine by port, so that roles on one board share its driver."""

    def __init__(self) -> None:
        self._by_port: dict[str, mcu.Driver] = {}

    def board(self, config: mcu.Config) -> mcu.Driver:
        """The one driver of the board on `config.port`."""
        shared = self._by_port.get(config.port)
        if shared is None:
            shared = self._by_port[config.port] = mcu.Driver(config)
        elif shared.config != config:
            raise ValueError(f"port: {config.port} is configured twice, differently")
        return shared

    def current(self, config: CurrentConfig) -> CurrentSensor:
        """A current sensor, the shared board's view if it is an MCU."""
        if isinstance(config, mcu.Config):
            return self.board(config).current()
        return build_current(config)

    def reader(self, config: ReaderConfig) -> CardReader:
        """A card reader, the shared board's view if it is an MCU."""
        if isinstance(config, mcu.Config):
            return self.board(config).reader()
        return build_reader(config)

    def relay(self, config: RelayConfig) -> RelayOutput:
        """A relay output, the shared board's view if it is an MCU."""
        if isinstance(config, mcu.Config):
            return self.board(config).relay()
        return build_relay(config)


def build_machine(
    *,
    current: CurrentConfig,
    reader: ReaderConfig | None = None,
    relay: RelayConfig | None = None,
    warning: RelayConfig | None = None,
) -> MachineDrivers:
    """A machine's drivers; roles given to the same MCU board share one driver and one port."""
    boards = _Boards()
    return MachineDrivers(
        current=boards.current(current),
        reader=None if reader is None else boards.reader(reader),
        relay=None if relay is None else boards.relay(relay),
        warning=None if warning is None else boards.relay(warning),
    )


__all__ = [
    "CURRENT_DRIVERS",
    "READER_DRIVERS",
    "RELAY_DRIVERS",
    "CurrentConfig",
    "MachineDrivers",
    "ReaderConfig",
    "RelayConfig",
    "build_current",
    "build_machine",
    "build_reader",
    "build_relay",
]
