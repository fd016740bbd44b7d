"""The GPIO relay driver running gpiozero's own device code on gpiozero's mock pins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.drivers.base import DeviceAbsentError, DriverError, RelayOutput
from gateway.drivers.relay import gpio

mock = pytest.importorskip("gpiozero.pins.mock")


class WeldedPin(mock.MockPin):  # type: ignore[misc,name-defined]
    """A pin whose output is shorted: it reads back low whatever it is told."""

    def _set_state(self, value: Any) -> None:
        pass


@pytest.fixture
def factory() -> Iterator[Any]:
    pins = mock.MockFactory()
    yield pins
    pins.reset()


def _relay(factory: Any, *, active_high: bool = True) -> gpio.Driver:
    config = gpio.Config(driver="gpio", pin=17, active_high=active_high)
    driver = gpio.Driver(config, bus=factory)
    driver.open()
    return driver


def test_the_relay_starts_de_energised(factory: Any) -> None:
    driver = _relay(factory)
    assert isinstance(driver, RelayOutput)
    assert not driver.energised
    assert factory.pin(17).state == 0


def test_set_energises_and_de_energises_the_relay(factory: Any) -> None:
    driver = _relay(factory)
    driver.set(True)
    assert factory.pin(17).state == 1
    driver.set(False)
    assert factory.pin(17).state == 0
    assert driver.counters["switches"] == 2


def test_an_active_low_board_energises_with_the_pin_low(factory: Any) -> None:
    driver = _relay(factory, active_high=False)
    assert factory.pin(17).state == 1  # open
    driver.set(True)
    assert factory.pin(17).state == 0
    assert driver.energised


def test_close_de_energises_the_relay_and_releases_the_pin(factory: Any) -> None:
    driver = _relay(factory)
    driver.set(True)
    driver.close()
    pin = factory.pin(17)
    assert pin.function == "input"
    assert [s.state for s in pin.states][-2:] == [True, False]  # driven open before release
    gpio.Driver(gpio.Config(driver="gpio", pin=17), bus=factory).open()  # free again


def test_a_pin_that_does_not_follow_is_a_driver_error_and_counted(factory: Any) -> None:
    factory.pin_class = WeldedPin
    driver = _relay(factory)
    with pytest.raises(DriverError, match="pin reads energised=False"):
        driver.set(True)
    assert driver.counters["not_switched"] == 1
    driver.set(False)  # opening still works: the pin reads open


def test_a_pin_in_use_is_device_absent(factory: Any) -> None:
    first = _relay(factory)
    with pytest.raises(DeviceAbsentError, match="17"):
        _relay(factory)
    first.close()


def test_setting_before_open_is_a_driver_error() -> None:
    with pytest.raises(DriverError, match="not open"):
        gpio.Driver(gpio.Config(driver="gpio", pin=17)).set(True)
