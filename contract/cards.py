"""Card UIDs never travel in clear: only as an HMAC keyed with the site secret."""

from __future__ import annotations

import hashlib
import hmac
import re

_UID = re.compile(r"^[0-9A-Fa-f]{4,32}$")


def normalise_uid(uid: str) -> str:
    """Canonical form of a card UID read by any reader: upper-case hex, no separators."""
    cleaned = uid.replace(":", "").replace("-", "").replace(" ", "").strip()
    if not _UID.fullmatch(cleaned):
        raise ValueError(f"card uid {uid!r}: expected 4-32 hex digits")
    return cleaned.upper()


def card_hash(uid: str, site_key: bytes) -> str:
    """The keyed hash that stands for a card on the wire, in InfluxDB and in the ledger."""
    if not site_key:
        raise ValueError("site_key: must not be empty")
    digest = hmac.new(site_key, normalise_uid(uid).encode("ascii"), hashlib.sha256)
    return digest.hexdigest()
