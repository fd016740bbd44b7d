"""ISO/IEC 14443-3 type A, as a reader doing anticollision in the host needs it: CRC_A, BCC."""

from __future__ import annotations

REQA = 0x26
WUPA = 0x52
HLTA = 0x50
CASCADE_TAG = 0x88
SELECT = (0x93, 0x95, 0x97)
"""SEL codes of cascade levels 1, 2 and 3 (4-, 7- and 10-byte UIDs)."""
SAK_UID_INCOMPLETE = 0x04


def crc_a(data: bytes) -> bytes:
    """CRC_A (init 0x6363, reflected 0x8408), low byte first, as appended to a frame."""
    crc = 0x6363
    for byte in data:
        byte ^= crc & 0xFF
        byte ^= (byte << 4) & 0xFF
        crc = (crc >> 8) ^ (byte << 8) ^ (byte << 3) ^ (byte >> 4)
    return crc.to_bytes(2, "little")


def bcc(data: bytes) -> int:
    """The block check character: the XOR of a cascade level's four UID bytes."""
    check = 0
    for byte in data:
        check ^= byte
    return check
