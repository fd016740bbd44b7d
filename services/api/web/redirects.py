"""Where a page may send a visitor after login: a path of this site, never another site."""

from __future__ import annotations

from urllib.parse import urlsplit

HOME = "/"
MAX_PATH_CHARS = 2000


def local_path(target: str | None, *, fallback: str = HOME) -> str:
    """The target when it is a path of this site; else the fallback.

    Browsers read `/\\host`, `/<tab>/host` and `//host` as another site, so a backslash, any
    whitespace or control character, and a second leading slash all fall back.
    """
    if not target or len(target) > MAX_PATH_CHARS or not target.startswith("/"):
        return fallback
    if target.startswith("//") or "\\" in target:
        return fallback
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target
