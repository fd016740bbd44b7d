"""A serial port as the serial-attached drivers use it, opened with pyserial on the real machine.

pyserial's `SerialException` is an `OSError`, so a driver catches `OSError` around port I/O and
the same code serves a real port and a fake one.
"""

from __future__ import annotations

from typing import Protocol

from gateway.drivers.base import DeviceAbsentError


class SerialPort(Protocol):
    """The part of `serial.Serial` the drivers use; a fake chip offers the same."""

    @property
    def in_waiting(self) -> int:
        """Bytes received and not yet read."""
        ...

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes; fewer when the port's timeout passes first."""
        ...

    def write(self, data: bytes, /) -> int | None:
        """Send bytes."""
        ...

    def reset_input_buffer(self) -> None:
        """Drop whatever was received and not read."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


def open_serial(port: str, *, baudrate: int, timeout_s: float) -> SerialPort:
    """Open `port` at 8N1; DeviceAbsentError when it is not there (pyserial is imported here)."""
    import serial

    try:
        opened: SerialPort = serial.Serial(port, baudrate=baudrate, timeout=timeout_s)
    except (serial.SerialException, OSError, ValueError) as err:
        raise DeviceAbsentError(f"serial port {port}: cannot open: {err}") from err
    return opened
