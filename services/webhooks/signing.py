"""Signatures: `sha256=` HMAC of `timestamp.body` with the subscription's secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_PREFIX = "sha256="


def new_secret() -> str:
    """A fresh subscription secret: 32 random bytes as hex."""
    return secrets.token_hex(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Officina-Signature` value of a body sent at `timestamp` (epoch seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verifies(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """Whether a received signature is the one the secret makes (compared in constant time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), given)
