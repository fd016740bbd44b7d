"""A relay module on a Raspberry Pi GPIO pin, driven through gpiozero's `OutputDevice`.

The bus here is a gpiozero pin factory: None picks the Pi's own (lgpio on current Pi OS), and a
test passes gpiozero's `MockFactory`, so the driver runs gpiozero's real device code on a
simulated pin. gpiozero is imported in `open()`, so the package imports on any machine.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.drivers.base import DeviceAbsentError, DriverError
from gateway.drivers.faults import Tally

logger = logging.getLogger(__name__)


class Config(BaseModel):
    """A relay on a GPIO pin: BCM number or a gpiozero name such as `GPIO17` or `BOARD11`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    driver: Literal["gpio"]
    pin: Annotated[int, Field(ge=0, le=53)] | Annotated[str, Field(min_length=1)]
    # Most opto-isolated relay boards close their relay when the pin is pulled low.
    active_high: bool = True


class Driver:
    """The machine's interlock on one GPIO pin; `close()` always leaves the relay de-energised."""

    def __init__(self, config: Config, *, bus: object | None = None) -> None:
        self.config = config
        self._factory = bus
        self._device: Any = None  # a gpiozero OutputDevice: the library has no type hints
        self._errors: tuple[type[Exception], ...] = (OSError,)
        self._tally = Tally(f"gpio relay {config.pin}", logger)

    @property
    def counters(self) -> Mapping[str, int]:
        """`switches`, and rejects: `not_switched`."""
        return self._tally.snapshot

    @property
    def energised(self) -> bool:
        """Whether the relay is energised now (the machine can run), as the pin reads."""
        return self._device is not None and bool(self._device.value)

    def open(self) -> None:
        """Claim the pin as an output, relay de-energised (DeviceAbsentError if it cannot be)."""
        if self._device is not None:
            return
        import gpiozero  # type: ignore[import-not-found,import-untyped,unused-ignore]

        self._errors = (gpiozero.GPIOZeroError, OSError)

        try:
            self._device = gpiozero.OutputDevice(
                self.config.pin,
                active_high=self.config.active_high,
                initial_value=False,
                pin_factory=self._factory,
            )
        except (gpiozero.GPIOZeroError, OSError) as err:
            self._device = None
            raise DeviceAbsentError(f"gpio relay {self.config.pin}: {err}") from err

    def set(self, energised: bool) -> None:
        """Energise or de-energise the relay; DriverError if the pin does not read back as set."""
        device = self._device
        if device is None:
            raise DriverError(f"gpio relay {self.config.pin}: not open")
        try:
            if energised:
                device.on()
            else:
                device.off()
            now = bool(device.value)
        except self._errors as err:
            raise DriverError(f"gpio relay {self.config.pin}: {err}") from err
        if now != energised:
            asked = f"asked energised={energised}, pin reads energised={now}"
            self._tally.reject("not_switched", asked)
            raise DriverError(f"gpio relay {self.config.pin}: {asked}")
        self._tally.count("switches")

    def close(self) -> None:
        """De-energise the relay (fail safe) and release the pin."""
        device, self._device = self._device, None
        if device is None:
            return
        try:
            device.off()
        finally:
            device.close()
