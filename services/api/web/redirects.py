"""Where a page may send a visitor after login: a path of this site, never another site."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

HOME = "/"
MAX_PATH_CHARS = 2000


def local_path(target: str | None, *, fallback: str = HOME) -> str:
    """The target when it is a path of this site; else the fallback.

    Browsers read `/\\host`, `/<tab>/host` and `//host` as another site, so a backslash, any
    whitespace or control character, and a second leading slash all fall back, written plainly
    or percent-escaped (a later hop may decode them once more).
    """
    if not target or len(target) > MAX_PATH_CHARS:
        return fallback
    if not _local(target) or not _local(unquote(target)):
        return fallback
    return target


def _local(target: str) -> bool:
    if not target.startswith("/"):
        return False
    if target.startswith("//") or "\\" in target:
        return False
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return False
    parts = urlsplit(target)
    return not (parts.scheme or parts.netloc)
