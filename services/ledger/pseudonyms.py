"""Display pseudonyms: how a member appears on the dashboards, which never see a member id.

A pseudonym is `m-` and ten hex digits of an HMAC-SHA256 of the member id under the services'
pseudonym key. It is stable (the same member is the same pseudonym on every panel and every
month) and short enough for a table column; forty bits keep two members of even a city network
apart (about one chance in twenty thousand of a clash among 10,000 members). Member ids are
short and guessable, so without the key nobody can tell whose a pseudonym is: the key stays
with ingest, the api and billing, never with Grafana or InfluxDB. Only the api turns one back
into a member, for staff, by trying the registry's members; an erased member is never tried,
so erasure leaves their pseudonym pointing at nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from contract.secrets import secret_problem

PREFIX = "m-"
HEX_DIGITS = 10
PSEUDONYM_PATTERN = rf"^{PREFIX}[0-9a-f]{{{HEX_DIGITS}}}$"
_PSEUDONYM = re.compile(PSEUDONYM_PATTERN)
# Separates these digests from any other HMAC made with the same key by mistake.
_PURPOSE = b"officina display pseudonym:"


def member_pseudonym(member: str, key: str) -> str:
    """The member's display pseudonym under a key, e.g. `m-3f9a2c71b0`."""
    digest = hmac.new(key.encode(), _PURPOSE + member.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_DIGITS]


def is_pseudonym(text: str) -> bool:
    """Whether a text has the form of a display pseudonym."""
    return _PSEUDONYM.fullmatch(text) is not None


def members_behind(pseudonym: str, members: Iterable[str], key: str) -> list[str]:
    """The members (of those given) whose pseudonym this is: one, or none, or a rare clash."""
    return [m for m in members if hmac.compare_digest(member_pseudonym(m, key), pseudonym)]


def pseudonym_key_problems(
    key: str | None, *, demo: bool, name: str = "pseudonym_key"
) -> list[str]:
    """What is wrong with a pseudonym key (None: not configured, which is allowed)."""
    if key is None:
        return []
    if not key:
        return [f"{name}: must not be empty (leave it out to write no pseudonyms)"]
    problem = secret_problem(name, key, demo=demo)
    return [] if problem is None else [problem]
