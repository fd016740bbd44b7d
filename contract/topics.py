"""Topic names of wire contract v1: build them, and parse them back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

from contract.errors import ContractError

CONTRACT_VERSION = 1
ROOT = f"officina/v{CONTRACT_VERSION}"
# Sites, machines, gateways and members: lower case, digits and dashes, as topic levels allow.
ID_PATTERN = r"[a-z0-9][a-z0-9-]{0,63}"
_ID = re.compile(ID_PATTERN)
# An id field of a pydantic model: refused, naming the field, unless it matches `ID_PATTERN`.
Id = Annotated[str, StringConstraints(pattern=f"^{ID_PATTERN}$")]


class TopicKind(StrEnum):
    """The last level of a topic: what the payload is."""

    TELEMETRY = "telemetry"
    STATE = "state"
    SESSIONS = "sessions"
    BADGES = "badges"
    ACL = "acl"
    COMMANDS = "commands"
    STATUS = "status"
    CONFIG = "config"
    BOOKINGS = "bookings"


MACHINE_KINDS = frozenset(
    {
        TopicKind.TELEMETRY,
        TopicKind.STATE,
        TopicKind.SESSIONS,
        TopicKind.BADGES,
        TopicKind.ACL,
        TopicKind.COMMANDS,
    }
)
GATEWAY_KINDS = frozenset({TopicKind.STATUS, TopicKind.CONFIG, TopicKind.BOOKINGS})
RETAINED_KINDS = frozenset(
    {TopicKind.STATE, TopicKind.ACL, TopicKind.STATUS, TopicKind.CONFIG, TopicKind.BOOKINGS}
)


def is_id(value: str) -> bool:
    """Whether a text is a valid officina id (site, machine, gateway, member)."""
    return _ID.fullmatch(value) is not None


def check_id(value: str, field: str) -> str:
    """Return value if it is a valid officina id, else raise naming the field."""
    if not is_id(value):
        raise ContractError.single(field, f"must match {ID_PATTERN}", what="topic")
    return value


@dataclass(frozen=True, slots=True)
class MachineTopic:
    """`officina/v1/{site}/machines/{machine}/{kind}`."""

    site: str
    machine: str
    kind: TopicKind

    def __post_init__(self) -> None:
        check_id(self.site, "site")
        check_id(self.machine, "machine")
        if self.kind not in MACHINE_KINDS:
            raise ContractError.single("kind", f"{self.kind} is not a machine topic", what="topic")

    def __str__(self) -> str:
        return f"{ROOT}/{self.site}/machines/{self.machine}/{self.kind}"

    @property
    def retained(self) -> bool:
        """Whether messages on this topic are published retained."""
        return self.kind in RETAINED_KINDS

    @staticmethod
    def filter(site: str = "+", machine: str = "+", kind: TopicKind | str = "+") -> str:
        """A subscription filter; `+` stands for any site, machine or kind."""
        return f"{ROOT}/{site}/machines/{machine}/{kind}"


@dataclass(frozen=True, slots=True)
class GatewayTopic:
    """`officina/v1/{site}/gateways/{gateway}/{kind}`: its status, or its config or bookings."""

    site: str
    gateway: str
    kind: TopicKind = TopicKind.STATUS

    def __post_init__(self) -> None:
        check_id(self.site, "site")
        check_id(self.gateway, "gateway")
        if self.kind not in GATEWAY_KINDS:
            raise ContractError.single(
                "kind", "a gateway topic ends in status, config or bookings", what="topic"
            )

    def __str__(self) -> str:
        return f"{ROOT}/{self.site}/gateways/{self.gateway}/{self.kind}"

    @property
    def retained(self) -> bool:
        """Gateway status (also the last will), config and bookings are always retained."""
        return True

    @staticmethod
    def filter(
        site: str = "+", gateway: str = "+", kind: TopicKind | str = TopicKind.STATUS
    ) -> str:
        """A subscription filter for gateway status (or, with `kind`, config)."""
        return f"{ROOT}/{site}/gateways/{gateway}/{kind}"


Topic = MachineTopic | GatewayTopic


def parse_topic(topic: str) -> Topic:
    """Parse a v1 topic name; raise ContractError naming the level that is wrong."""
    parts = topic.split("/")
    if len(parts) != 6:
        raise ContractError.single("topic", f"expected 6 levels, got {len(parts)}", what="topic")
    root, version, site, family, entity, kind = parts
    if root != "officina":
        raise ContractError.single("root", "must be 'officina'", what="topic")
    if version != f"v{CONTRACT_VERSION}":
        raise ContractError.single("version", f"must be 'v{CONTRACT_VERSION}'", what="topic")
    try:
        topic_kind = TopicKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in TopicKind)
        raise ContractError.single("kind", f"must be one of {allowed}", what="topic") from None
    if family == "machines":
        return MachineTopic(site, entity, topic_kind)
    if family == "gateways":
        return GatewayTopic(site, entity, topic_kind)
    raise ContractError.single("family", "must be 'machines' or 'gateways'", what="topic")
