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


class PhotoError(ValueError):
    """A photo the api will not keep; names the field it came in."""

    field = "photo"

    def __init__(self, message: str) -> None:
        super().__init__(f"photo: {message}")


class PhotoTooLargeError(PhotoError):
    """More bytes than a photo may have."""


class PhotoTypeError(PhotoError):
    """Declared as something other than JPEG, PNG or WebP."""


class PhotoContentError(PhotoError):
    """Declared as an image type its bytes are not."""


def checked_photo(data: bytes, declared: str) -> str:
    """The photo's type, once its declared type, size and bytes all agree; else a PhotoError."""
    declared = declared.split(";")[0].strip().lower()
    if declared not in ACCEPTED:
        raise PhotoTypeError(f"send it as {', '.join(ACCEPTED)}, not {declared or 'nothing'}")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLargeError(f"at most {MAX_PHOTO_BYTES // 1024} KiB")
    found = sniffed_type(data)
    if found is None:
        raise PhotoContentError("the bytes are not a JPEG, PNG or WebP image")
    if found != declared:
        raise PhotoContentError(f"sent as {declared} but the bytes are {found}")
    return found
