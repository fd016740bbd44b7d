"""A whole MQTT message checked against the contract: topic, payload and their agreement."""

from __future__ import annotations

from dataclasses import dataclass

from contract.errors import ContractError
from contract.payloads import Envelope, SessionRecord, decode_payload
from contract.topics import MachineTopic, Topic, parse_topic


@dataclass(frozen=True, slots=True)
class Message:
    """A validated message: where it came from and what it says."""

    topic: Topic
    payload: Envelope


def decode_message(topic: str, raw: bytes) -> Message:
    """Validate a received message; raise ContractError naming the first bad field."""
    parsed = parse_topic(topic)
    payload = decode_payload(parsed.kind, raw)
    if (
        isinstance(parsed, MachineTopic)
        and isinstance(payload, SessionRecord)
        and payload.machine != parsed.machine
    ):
        raise ContractError.single("machine", f"must equal the topic's machine {parsed.machine!r}")
    return Message(parsed, payload)
