"""Passwords, tokens and gateway secrets: how they are made, hashed and checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

TOKEN_BYTES = 32
GATEWAY_PASSWORD_BYTES = 24
# Mosquitto's `$7$` format: PBKDF2-SHA512; mosquitto_passwd's default iteration count.
MOSQUITTO_ITERATIONS = 101
MOSQUITTO_SALT_BYTES = 12


class Role(StrEnum):
    """What a login may do: run the site, run the floor, see one's own data, or be a gateway."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MEMBER = "member"
    GATEWAY = "gateway"


STAFF = frozenset({Role.ADMIN, Role.COORDINATOR})


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordCost:
    """Argon2id's cost: memory in KiB, passes, lanes (defaults: RFC 9106's second choice)."""

    memory_kib: int = 65_536
    passes: int = 3
    lanes: int = 4


class Passwords:
    """Hashes and checks passwords with Argon2id; old hashes of another cost still verify."""

    def __init__(self, cost: PasswordCost) -> None:
        hasher = Argon2Hasher(
            memory_cost=cost.memory_kib, time_cost=cost.passes, parallelism=cost.lanes
        )
        self._hash = PasswordHash((hasher,))
        # Verifying against this keeps a login for an unknown user as slow as for a known one.
        self._dummy = self._hash.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """An Argon2id hash of a password, salted, in PHC string form."""
        return self._hash.hash(password)

    def check(self, password: str, password_hash: str | None) -> bool:
        """Whether the password matches; takes as long when there is no hash to match."""
        if password_hash is None:
            self._hash.verify(password, self._dummy)
            return False
        return bool(self._hash.verify(password, password_hash))


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str, secret: str) -> str:
    """The keyed digest under which a token is stored and looked up."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def csrf_for(token: str, secret: str) -> str:
    """The value a page sends back in `X-CSRF-Token` when it authenticates by cookie."""
    return hmac.new(secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def new_gateway_password() -> str:
    """A fresh broker password for a gateway."""
    return secrets.token_urlsafe(GATEWAY_PASSWORD_BYTES)


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """A password hash in Mosquitto's `$7$` format, for the generated password file."""
    salt = salt if salt is not None else secrets.token_bytes(MOSQUITTO_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_ITERATIONS)
    encoded_salt = base64.b64encode(salt).decode()
    return f"$7${MOSQUITTO_ITERATIONS}${encoded_salt}${base64.b64encode(digest).decode()}"
