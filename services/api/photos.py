"""Machine photos: the type is read from the bytes themselves, never taken from the client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_PHOTO_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class PhotoType:
    """An image format a photo may be in, and how its first bytes give it away."""

    content_type: str
    matches: Callable[[bytes], bool]


PHOTO_TYPES = (
    PhotoType("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    PhotoType("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    PhotoType("image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
)
ACCEPTED = tuple(t.content_type for t in PHOTO_TYPES)


def sniffed_type(data: bytes) -> str | None:
    """The image type the bytes are in (JPEG, PNG or WebP), or None for anything else."""
    head = data[:16]
    return next((t.content_type for t in PHOTO_TYPES if t.matches(head)), None)
