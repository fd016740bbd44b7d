"""An erasure reaches the broker: retained machine states that named the member are republished.

A gateway's state is retained, so the broker hands it (member included) to every client that
subscribes, long after the session. The api republishes each such state as it was, under the
member's erased id; the gateway's next change replaces it as usual. The live floor shows the
erased id for any state that still names her (a gateway that had not heard yet), restarts too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from contract import MachineTopic, StateChange, TopicKind, encode_payload
from services.api.broker import BrokerLink
from services.api.floor import Floor
from services.api.privacy import erased_id
from services.ledger import MemberRow

log = logging.getLogger(__name__)


def erase_from_floor(floor: Floor, link: BrokerLink, *, member: str, stand_in: str) -> int:
    """Drop a member from the live floor and the retained states; how many states were redone."""
    # The floor stops naming her at once, even if the broker is away; a repeated erasure
    # republishes whatever the floor still shows under her erased id.
    floor.erase(member, stand_in)
    republished = 0
    for live in floor.machines_of(stand_in):
        if live.state is None or live.since_ms is None:
            continue
        change = StateChange(
            id=f"erasure-{uuid.uuid4().hex}",
            ts=max(live.changed_ts, 0),
            state=live.state,
            member=stand_in,
            session=live.session,
            since=live.since_ms,
        )
        topic = MachineTopic(floor.site, live.machine, TopicKind.STATE)
        link.publish(str(topic), encode_payload(change), retain=True)
        republished += 1
    log.info("erasure of %s: %d retained machine states republished", member, republished)
    return republished


def remember_erasures(floor: Floor, members: Iterable[MemberRow], secret: str) -> None:
    """Tell a new floor who was erased, so a retained state naming them shows their erased id."""
    for member in members:
        if member.erased_at is not None:
            floor.erase(member.id, erased_id(member.id, secret))
