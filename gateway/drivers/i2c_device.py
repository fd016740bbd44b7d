"""A raw I²C device: whole-message reads and writes at one address, for chips without registers."""

from __future__ import annotations

import fcntl
import os
from typing import Protocol

from gateway.drivers.base import DeviceAbsentError

_I2C_SLAVE = 0x0703  # <linux/i2c-dev.h>: talk to this address on the following reads and writes


class I2cDevice(Protocol):
    """Plain I²C messages to and from one address; a fake chip offers the same."""

    def write(self, data: bytes) -> None:
        """One write message."""
        ...

    def read(self, size: int) -> bytes:
        """One read message of `size` bytes."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


class LinuxI2cDevice:
    """An address on `/dev/i2c-N` through the kernel's i2c-dev interface (no library needed)."""

    def __init__(self, bus: int, address: int) -> None:
        path = f"/dev/i2c-{bus}"
        try:
            self._fd = os.open(path, os.O_RDWR)
        except OSError as err:
            raise DeviceAbsentError(f"{path}: cannot open: {err.strerror}") from err
        try:
            fcntl.ioctl(self._fd, _I2C_SLAVE, address)
        except OSError as err:
            os.close(self._fd)
            raise DeviceAbsentError(f"{path}@{address:#04x}: {err.strerror}") from err

    def write(self, data: bytes) -> None:
        """One write message."""
        os.write(self._fd, data)

    def read(self, size: int) -> bytes:
        """One read message of `size` bytes."""
        return os.read(self._fd, size)

    def close(self) -> None:
        """Close the device file."""
        os.close(self._fd)
