"""A simulated MFRC522 on SPI: its registers, 64-byte FIFO and Transceive, and a type A card."""

from __future__ import annotations

from collections import deque
from enum import Enum

from gateway.drivers.rfid.iso14443a import CASCADE_TAG, HLTA, REQA, SELECT, WUPA, bcc, crc_a

_COMMAND, _COM_IRQ, _ERROR, _FIFO_DATA, _FIFO_LEVEL = 0x01, 0x04, 0x06, 0x09, 0x0A
_CONTROL, _BIT_FRAMING, _TX_CONTROL, _VERSION = 0x0C, 0x0D, 0x14, 0x37
_TRANSCEIVE, _SOFT_RESET = 0x0C, 0x0F
_RESET_VALUES = {_COMMAND: 0x20, _TX_CONTROL: 0x80, 0x0E: 0x80, 0x11: 0x3F}


class CardState(Enum):
    """ISO 14443-3 type A card states."""

    IDLE = "idle"
    READY = "ready"
    ACTIVE = "active"
    HALT = "halt"


class FakeCard:
    """A MIFARE-like type A card: answers WUPA/REQA, anticollision, select and HLTA."""

    def __init__(self, uid: bytes) -> None:
        if len(uid) not in (4, 7, 10):
            raise ValueError("uid: 4, 7 or 10 bytes")
        self.uid = uid
        self.state = CardState.IDLE
        self._level = 0

    def _levels(self) -> list[bytes]:
        u = self.uid
        if len(u) == 4:
            return [u]
        if len(u) == 7:
            return [bytes([CASCADE_TAG]) + u[:3], u[3:]]
        return [bytes([CASCADE_TAG]) + u[:3], bytes([CASCADE_TAG]) + u[3:6], u[6:]]

    def answer(self, frame: bytes, bits: int) -> bytes | None:
        """The card's answer to a frame from the reader, or None (silence)."""
        if bits == 7 and len(frame) == 1 and frame[0] in (REQA, WUPA):
            wakes = {CardState.IDLE} | ({CardState.HALT} if frame[0] == WUPA else set())
            if self.state in wakes:
                self.state, self._level = CardState.READY, 0
                return bytes([0x04 if len(self.uid) == 4 else 0x44, 0x00])
            self.state = CardState.IDLE  # an unexpected command sends a card back to IDLE
            return None
        if self.state is CardState.READY and len(frame) == 2 and frame[1] == 0x20:
            if frame[0] != SELECT[self._level]:
                return None
            part = self._levels()[self._level]
            return part + bytes([bcc(part)])
        if self.state is CardState.READY and len(frame) == 9 and frame[1] == 0x70:
            part = self._levels()[self._level]
            if frame[0] != SELECT[self._level] or frame[2:7] != part + bytes([bcc(part)]):
                return None
            if crc_a(frame[:7]) != frame[7:]:
                return None
            self._level += 1
            last = self._level == len(self._levels())
            sak = 0x08 if last else 0x04
            if last:
                self.state = CardState.ACTIVE
            return bytes([sak]) + crc_a(bytes([sak]))
        if self.state is CardState.ACTIVE and frame == bytes([HLTA, 0]) + crc_a(bytes([HLTA, 0])):
            self.state = CardState.HALT
            return None
        if self.state is not CardState.HALT:
            self.state = CardState.IDLE
        return None


class FakeMfrc522:
    """The chip as `spidev.SpiDev.xfer2` sees it, with a card that a test places and removes."""

    def __init__(self, *, version: int = 0x92) -> None:
        self.version = version
        self.registers = dict.fromkeys(range(0x40), 0)
        self.registers.update(_RESET_VALUES)
        self.fifo = bytearray()
        self.card: FakeCard | None = None
        self.frames: list[bytes] = []  # what the reader sent to cards, in order
        self.closed = False
        self._faults: deque[str] = deque()

    def place(self, uid: str) -> FakeCard:
        """Hold a card with this hex UID to the antenna."""
        self.card = FakeCard(bytes.fromhex(uid))
        return self.card

    def remove(self) -> None:
        """Take the card away."""
        self.card = None

    def then(self, *faults: str) -> None:
        """Spoil the next answers in turn: `flip` (a bit of the reply), `parity`, `ok`."""
        self._faults.extend(faults)

    @property
    def antenna_on(self) -> bool:
        """Whether TX1 and TX2 drive the antenna."""
        return self.registers[_TX_CONTROL] & 0x03 == 0x03

    # ----- SPI ---------------------------------------------------------------------------------

    def xfer2(self, data: list[int]) -> list[int]:
        """One chip-select: a register write (address, values...) or a read burst."""
        if not data:
            return []
        if data[0] & 0x80:
            out = [0]
            for address in data[:-1]:
                out.append(self._read((address >> 1) & 0x3F))
            return out
        register = (data[0] >> 1) & 0x3F
        for value in data[1:]:
            self._write(register, value)
        return [0] * len(data)

    def close(self) -> None:
        """Mark SPI closed."""
        self.closed = True

    # ----- the chip ----------------------------------------------------------------------------

    def _read(self, register: int) -> int:
        if register == _VERSION:
            return self.version
        if register == _FIFO_DATA:
            return self.fifo.pop(0) if self.fifo else 0
        if register == _FIFO_LEVEL:
            return len(self.fifo)
        return self.registers[register]

    def _write(self, register: int, value: int) -> None:
        if register == _FIFO_DATA:
            if len(self.fifo) < 64:
                self.fifo.append(value)
        elif register == _FIFO_LEVEL:
            if value & 0x80:
                self.fifo.clear()
        elif register == _COM_IRQ:
            bits = value & 0x7F
            if value & 0x80:
                self.registers[_COM_IRQ] |= bits
            else:
                self.registers[_COM_IRQ] &= ~bits
        elif register == _COMMAND:
            if value & 0x0F == _SOFT_RESET:
                self.registers = dict.fromkeys(range(0x40), 0)
                self.registers.update(_RESET_VALUES)
                self.registers[_COMMAND] = 0x20  # out of power-down at once
                self.fifo.clear()
            else:
                self.registers[_COMMAND] = value
        elif register == _BIT_FRAMING:
            self.registers[_BIT_FRAMING] = value
            if value & 0x80 and self.registers[_COMMAND] & 0x0F == _TRANSCEIVE:
                self._transceive(value & 0x07)
        else:
            self.registers[register] = value

    def _transceive(self, bits: int) -> None:
        frame = bytes(self.fifo)
        self.fifo.clear()
        self.frames.append(frame)
        answer = None
        if self.card is not None and self.antenna_on:
            answer = self.card.answer(frame, bits)
        self.registers[_ERROR] = 0
        self.registers[_CONTROL] = 0x10
        if answer is None:
            self.registers[_COM_IRQ] |= 0x01  # the timer ran out
            return
        fault = self._faults.popleft() if self._faults else None
        if fault == "flip":
            answer = answer[:-1] + bytes([answer[-1] ^ 0x01])
        elif fault == "parity":
            self.registers[_ERROR] = 0x02
        self.fifo.extend(answer)
        self.registers[_COM_IRQ] |= 0x30  # RxIRq and IdleIRq
