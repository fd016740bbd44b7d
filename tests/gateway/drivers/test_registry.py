"""The driver registry: configs told apart by `driver`, factories building the named chip."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.drivers import (
    CURRENT_DRIVERS,
    READER_DRIVERS,
    RELAY_DRIVERS,
    CurrentConfig,
    ReaderConfig,
    RelayConfig,
    build_current,
    build_machine,
    build_reader,
    build_relay,
    mcu,
)
from gateway.drivers.base import CardReader, CurrentSensor, RelayOutput
from gateway.drivers.current import ads1115, pzem004t
from gateway.drivers.rfid import rdm6300
from tests.gateway.drivers.fakes.pzem004t import FakePzem004t


class Machine(BaseModel):
    """A stand-in for the gateway's machine config: one field per role."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    current: CurrentConfig
    reader: ReaderConfig | None = None
    relay: RelayConfig | None = None


def _machine(text: str) -> Machine:
    return Machine.model_validate(tomllib.loads(text))


def test_every_registered_module_exports_a_config_whose_driver_is_its_name() -> None:
    for table in (CURRENT_DRIVERS, READER_DRIVERS, RELAY_DRIVERS):
        for name, module in table.items():
            assert module.Config.model_fields["driver"].annotation.__args__ == (name,)
            assert callable(module.Driver)


def test_a_toml_machine_picks_each_chip_by_its_driver_name() -> None:
    machine = _machine(
        """
        current = { driver = "ads1115", channel = "A0-A1", amps_per_volt = 30.0 }
        reader = { driver = "rdm6300", port = "/dev/serial0" }
        relay = { driver = "gpio", pin = 17, active_high = false }
        """
    )
    assert isinstance(machine.current, ads1115.Config)
    assert isinstance(machine.reader, rdm6300.Config)
    assert machine.relay is not None and machine.relay.driver == "gpio"
    drivers = build_machine(current=machine.current, reader=machine.reader, relay=machine.relay)
    assert isinstance(drivers.current, CurrentSensor)
    assert isinstance(drivers.reader, CardReader)
    assert isinstance(drivers.relay, RelayOutput)


def test_an_unknown_driver_is_named_in_the_error() -> None:
    with pytest.raises(ValidationError) as caught:
        _machine('current = { driver = "ina219", address = 64 }')
    error = caught.value.errors()[0]
    assert error["loc"] == ("current",)
    assert "ads1115" in error["msg"] and "pzem004t" in error["msg"]


def test_a_wrong_field_of_a_chip_is_named_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        _machine('current = { driver = "pzem004t", port = "/dev/ttyUSB0", adress = 1 }')
    assert caught.value.errors()[0]["loc"] == ("current", "pzem004t", "adress")


def test_one_mcu_board_serves_every_role_it_is_named_for() -> None:
    board = {"driver": "mcu", "port": "/dev/ttyACM0"}
    machine = Machine.model_validate({"current": board, "reader": board, "relay": board})
    drivers = build_machine(current=machine.current, reader=machine.reader, relay=machine.relay)
    assert isinstance(drivers.current, mcu.McuCurrentSensor)
    assert isinstance(drivers.reader, mcu.McuCardReader)
    assert isinstance(drivers.relay, mcu.McuRelay)
    assert drivers.current.board is drivers.reader.board is drivers.relay.board


def test_one_board_configured_two_ways_is_refused() -> None:
    machine = Machine.model_validate(
        {
            "current": {"driver": "mcu", "port": "/dev/ttyACM0"},
            "reader": {"driver": "mcu", "port": "/dev/ttyACM0", "baudrate": 9600},
        }
    )
    with pytest.raises(ValueError, match="configured twice"):
        build_machine(current=machine.current, reader=machine.reader)


def test_build_passes_the_bus_to_the_driver() -> None:
    chip = FakePzem004t()
    chip.amps = 3.5
    config = pzem004t.Config(driver="pzem004t", port="/dev/ttyUSB0")
    sensor = build_current(config, bus=chip)
    sensor.open()
    reading = sensor.read()
    assert reading is not None
    assert reading.amps == 3.5


@pytest.mark.parametrize(
    ("build", "config"),
    [
        (build_reader, {"driver": "mcu", "port": "/dev/ttyACM0"}),
        (build_relay, {"driver": "mcu", "port": "/dev/ttyACM0"}),
        (build_current, {"driver": "mcu", "port": "/dev/ttyACM0"}),
    ],
)
def test_build_of_an_mcu_gives_the_role_view(build: Any, config: dict[str, Any]) -> None:
    made = build(mcu.Config.model_validate(config))
    assert isinstance(made, mcu.McuCurrentSensor | mcu.McuCardReader | mcu.McuRelay)
