"""One rule for secrets, used by the gateway, the api, ingest and billing alike.

A secret (the site key that keys card hashes, the api's token key, the dashboards' pseudonym
key, an InfluxDB token) is refused when it is missing, blank, shorter than `MIN_SECRET_LENGTH`
characters, made of a handful of repeated characters, or a placeholder copied from an example
file. The demo's fixed secrets are well known, so they pass only where the demo runs.
A password (a broker login) is refused only when blank or a placeholder: its length is the
broker's business, and the api issues gateways long random ones anyway.
"""

from __future__ import annotations

MIN_SECRET_LENGTH = 32
# Fewer different characters than this is a pattern typed by hand ("x" * 40, "abab…").
MIN_DISTINCT_CHARACTERS = 4

# The demo's secrets: in the source for everyone to read, so never accepted outside the demo.
DEMO_API_SECRET = "demo-api-secret-not-for-production-use-ever"  # noqa: S105 - refused outside the demo
DEMO_SITE_KEY = "demo-site-key-not-for-production"
DEMO_PSEUDONYM_KEY = "demo-pseudonym-key-not-for-production-use"
DEMO_SECRETS = frozenset({DEMO_API_SECRET, DEMO_SITE_KEY, DEMO_PSEUDONYM_KEY})

# Whole values that example files, tutorials and habit put where a secret belongs.
PLACEHOLDERS = frozenset(
    {"changeme", "change-me", "changethis", "secret", "password", "officina", "demo", "admin"}
)
# Parts of a value that mark it as a placeholder, whatever surrounds them: the example files
# say "REPLACE-with-…", and "change me" comes in many spellings.
PLACEHOLDER_MARKS = (
    "replace-with",
    "replace_with",
    "replace-me",
    "replace_me",
    "change-me",
    "change_me",
    "changeme",
    "changethis",
    "change-this",
    "your-secret",
    "placeholder",
)


def _placeholder(value: str) -> bool:
    folded = value.strip().lower()
    return folded in PLACEHOLDERS or any(mark in folded for mark in PLACEHOLDER_MARKS)


def weak_secret_reason(value: str | None, *, demo: bool = False) -> str | None:
    """Why a secret must not be used, without the setting's name; None if it will do."""
    if value is None or value == "":
        return "must be set"
    if not value.strip():
        return "must not be blank"
    if value in DEMO_SECRETS:
        return None if demo else "the demo's well-known value is refused outside the demo"
    if _placeholder(value):
        return "a placeholder from an example is refused; generate a random secret"
    if value != value.strip():
        return "has spaces or line breaks around it"
    if len(value) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters (has {len(value)})"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return "repeats too few characters to be a random secret"
    return None


def weak_password_reason(value: str | None) -> str | None:
    """Why a password must not be used (blank, or a placeholder), without its setting's name."""
    if value is None:
        return None
    if not value.strip():
        return "must not be blank"
    if _placeholder(value):
        return "a placeholder from an example is refused; use the issued password"
    return None


def secret_problem(name: str, value: str | None, *, demo: bool = False) -> str | None:
    """What is wrong with the secret setting `name`, as one line naming it; None if it will do."""
    reason = weak_secret_reason(value, demo=demo)
    return None if reason is None else f"{name}: {reason}"


def password_problem(name: str, value: str | None) -> str | None:
    """What is wrong with the password setting `name`, as one line naming it; None if fine."""
    reason = weak_password_reason(value)
    return None if reason is None else f"{name}: {reason}"
