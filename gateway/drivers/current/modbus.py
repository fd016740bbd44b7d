"""Modbus-RTU framing as the serial energy meters speak it: CRC-16/Modbus and frame checks."""

from __future__ import annotations


def crc16_modbus(data: bytes) -> int:
    """CRC-16/Modbus (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(frame: bytes) -> bytes:
    """`frame` followed by its CRC, low byte first."""
    return frame + crc16_modbus(frame).to_bytes(2, "little")


def crc_ok(frame: bytes) -> bool:
    """Whether the last two bytes of `frame` are the CRC of the rest."""
    return len(frame) >= 3 and crc16_modbus(frame[:-2]) == int.from_bytes(frame[-2:], "little")
