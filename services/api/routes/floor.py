"""`/floor`: the live floor now, and a Server-Sent Events stream of its changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from services.api.deps import PersonUser, Principal, StateDep
from services.api.events import KEEPALIVE_S, AmpsTick, is_closed
from services.api.floor import FloorChange, MachineLive, RefusedCard
from services.api.queries import floor_now, tile
from services.api.schemas.floor import FloorPublic
from services.api.state import ApiState

router = APIRouter(prefix="/floor", tags=["floor"])


@router.get("")
def read_floor(user: PersonUser, state: StateDep) -> FloorPublic:
    """Every machine's state, member, since and recent amps."""
    return floor_now(state, user)


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _tiles_event(state: ApiState, user: Principal, machines: Sequence[MachineLive]) -> str:
    names = state.machine_names()
    tiles = [tile(state, user, m, names.get(m.machine)).model_dump(mode="json") for m in machines]
    return _event("tiles", tiles)


def refused_public(state: ApiState, refused: RefusedCard) -> dict[str, str]:
    """A refused card for the floor's events panel: the machine's name, never the card's UID."""
    return {
        "machine": refused.machine,
        "name": state.machine_names().get(refused.machine, refused.machine),
        "card": refused.card,
        "reason": refused.reason,
        "at": refused.at.isoformat(),
    }


async def _stream(state: ApiState, user: Principal) -> AsyncIterator[str]:
    async with state.hub.stream() as queue:
        snapshot = await asyncio.to_thread(floor_now, state, user)
        yield _event("snapshot", snapshot.model_dump(mode="json"))
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if isinstance(event, AmpsTick):
                yield _event("amps", event.amps)
            elif isinstance(event, RefusedCard):
                if user.is_staff:
                    yield _event("refused", refused_public(state, event))
            elif isinstance(event, FloorChange):
                yield _tiles_event(state, user, event.machines)
            elif is_closed(event):
                return


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}},
)
async def floor_events(user: PersonUser, state: StateDep) -> StreamingResponse:
    """`snapshot` once, then `tiles` on every state change and `amps` every few seconds."""
    return StreamingResponse(
        _stream(state, user),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
