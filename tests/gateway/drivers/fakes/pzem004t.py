"""A simulated PZEM-004T v3.0: a Modbus-RTU slave answering on a pyserial-like port."""

from __future__ import annotations

from collections import deque

from gateway.drivers.current.modbus import crc_ok, with_crc

_GENERAL = 0xF8
ENERGY_TOP_WH = 10_000_000  # the datasheet's 9,999.99 kWh, after which the counter starts at 0


def request_function(request: bytes) -> int:
    """The Modbus function code of a request."""
    return request[1]


class FakePzem004t:
    """The meter as the host's serial port sees it, with faults a test can arm."""

    def __init__(self, *, address: int = 0x01) -> None:
        self.address = address
        self.volts = 230.0
        self.amps = 0.0
        self.watts = 0.0
        self.energy_wh = 0
        self.hertz = 50.0
        self.power_factor = 1.0
        self.alarm = False
        self.requests: list[bytes] = []
        self.closed = False
        self._faults: deque[str] = deque()
        self._out = bytearray()

    def then(self, *faults: str) -> None:
        """Arm faults for the next replies: `silent`, `bad_crc`, `short`, `noise`, `refuse`."""
        self._faults.extend(faults)

    # ----- the host's side of the line ------------------------------------------------------

    def reset_input_buffer(self) -> None:
        """Drop what the meter sent and nobody read."""
        self._out.clear()

    def write(self, data: bytes, /) -> int:
        """A request from the host: the meter answers at once (or as a fault says)."""
        self.requests.append(bytes(data))
        reply = self._answer(bytes(data))
        fault = self._faults.popleft() if self._faults else None
        if reply is None or fault == "silent":
            return len(data)
        if fault == "refuse":
            reply = with_crc(bytes([self.address, request_function(data) | 0x80, 0x04]))
        elif fault == "bad_crc":
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        elif fault == "short":
            reply = reply[: len(reply) // 2]
        elif fault == "noise":
            reply = b"\x00\xff\x13" + reply
        self._out.extend(reply)
        return len(data)

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes: fewer means the port's timeout passed."""
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    @property
    def in_waiting(self) -> int:
        """Bytes the meter sent and nobody read."""
        return len(self._out)

    def close(self) -> None:
        """Mark the port closed."""
        self.closed = True

    # ----- the meter --------------------------------------------------------------------------

    def draw(self, wh: int) -> None:
        """The machine draws `wh`: the counter goes on, from 0 again past its top."""
        self.energy_wh = (self.energy_wh + wh) % ENERGY_TOP_WH

    def registers(self) -> list[int]:
        """The ten input registers as the meter holds them."""
        amps = round(self.amps * 1000)
        watts = round(self.watts * 10)
        energy = self.energy_wh & 0xFFFF_FFFF
        return [
            round(self.volts * 10),
            amps & 0xFFFF,
            amps >> 16,
            watts & 0xFFFF,
            watts >> 16,
            energy & 0xFFFF,
            energy >> 16,
            round(self.hertz * 10),
            round(self.power_factor * 100),
            0xFFFF if self.alarm else 0x0000,
        ]

    def _answer(self, request: bytes) -> bytes | None:
        if not crc_ok(request) or request[0] not in (self.address, _GENERAL):
            return None  # a slave stays silent on a garbled or foreign request
        function = request[1]
        if function == 0x04 and len(request) == 8:
            start = int.from_bytes(request[2:4], "big")
            count = int.from_bytes(request[4:6], "big")
            if start + count > 10 or count == 0:
                return with_crc(bytes([self.address, 0x84, 0x02]))
            words = self.registers()[start : start + count]
            data = b"".join(w.to_bytes(2, "big") for w in words)
            return with_crc(bytes([self.address, 0x04, len(data)]) + data)
        if function == 0x42 and len(request) == 4:
            self.energy_wh = 0
            return request
        return with_crc(bytes([self.address, function | 0x80, 0x01]))
