"""Each driver against a real device, when one is attached and named in the environment.

`OFFICINA_HARDWARE_<DRIVER>` holds the driver's config as JSON, for example
`OFFICINA_HARDWARE_RDM6300='{"driver": "rdm6300", "port": "/dev/serial0"}'`; without it the
test is skipped. Run with `pytest -m hardware`.
"""

from __future__ import annotations

import os

import pytest
from pydantic import TypeAdapter

from gateway.drivers import (
    CURRENT_DRIVERS,
    READER_DRIVERS,
    RELAY_DRIVERS,
    CurrentConfig,
    ReaderConfig,
    RelayConfig,
    build_current,
    build_reader,
    build_relay,
)
from gateway.drivers.base import DeviceAbsentError

pytestmark = pytest.mark.hardware


def _config_json(name: str) -> str:
    text = os.environ.get(f"OFFICINA_HARDWARE_{name.upper()}")
    if not text:
        pytest.skip(f"no {name} attached (set OFFICINA_HARDWARE_{name.upper()})")
    return text


@pytest.mark.parametrize("name", sorted(CURRENT_DRIVERS))
def test_a_real_current_sensor_gives_a_reading(name: str) -> None:
    config = TypeAdapter(CurrentConfig).validate_json(_config_json(name))
    sensor = build_current(config)
    try:
        sensor.open()
    except DeviceAbsentError as err:
        pytest.skip(str(err))
    try:
        readings = [sensor.read() for _ in range(3)]
    finally:
        sensor.close()
    assert any(r is not None and r.amps >= 0 for r in readings)


@pytest.mark.parametrize("name", sorted(READER_DRIVERS))
def test_a_real_card_reader_opens_polls_and_closes(name: str) -> None:
    config = TypeAdapter(ReaderConfig).validate_json(_config_json(name))
    reader = build_reader(config)
    try:
        reader.open()
    except DeviceAbsentError as err:
        pytest.skip(str(err))
    try:
        reader.read()  # no card is needed: the chip must only answer
    finally:
        reader.close()


@pytest.mark.parametrize("name", sorted(RELAY_DRIVERS))
def test_a_real_relay_energises_and_is_left_de_energised(name: str) -> None:
    config = TypeAdapter(RelayConfig).validate_json(_config_json(f"{name}_relay"))
    relay = build_relay(config)
    try:
        relay.open()
    except DeviceAbsentError as err:
        pytest.skip(str(err))
    try:
        relay.set(True)
        relay.set(False)
    finally:
        relay.close()
