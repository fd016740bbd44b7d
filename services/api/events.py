"""Server-Sent Events: floor changes fanned out from the broker's thread to every open stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.api.floor import Floor, FloorChange, RefusedCard

log = logging.getLogger(__name__)

# A stream this far behind is dropped: the browser's EventSource reconnects and resynchronises.
QUEUE_DEPTH = 256
KEEPALIVE_S = 15.0


@dataclass(frozen=True, slots=True)
class AmpsTick:
    """The latest amps of the machines measured since the previous tick."""

    amps: dict[str, float]


FloorEvent = FloorChange | AmpsTick | RefusedCard


class _Closed:
    """Put on a stream's queue when the hub drops it."""


_CLOSED = _Closed()


class FloorHub:
    """Fans floor events out to streams; lives on the event loop, fed from any thread."""

    def __init__(self, floor: Floor, *, amps_every_s: float) -> None:
        self._floor = floor
        self._amps_every_s = amps_every_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: set[asyncio.Queue[FloorEvent | _Closed]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self.dropped = 0

    @property
    def streams(self) -> int:
        """How many streams are open."""
        return len(self._streams)

    async def start(self) -> None:
        """Bind to the running loop, listen to the floor and start the amps ticker."""
        self._loop = asyncio.get_running_loop()
        self._floor.listen(self._from_broker)
        self._floor.listen_to_refusals(self._from_broker)
        self._ticker = asyncio.create_task(self._tick_amps(), name="floor-amps")

    async def stop(self) -> None:
        """Close every stream and stop the ticker."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for queue in list(self._streams):
            self._close(queue)
        self._loop = None

    @contextlib.asynccontextmanager
    async def stream(self) -> AsyncIterator[asyncio.Queue[FloorEvent | _Closed]]:
        """A queue that receives every event until the context ends."""
        queue: asyncio.Queue[FloorEvent | _Closed] = asyncio.Queue(QUEUE_DEPTH)
        self._streams.add(queue)
        try:
            yield queue
        finally:
            self._streams.discard(queue)

    def _from_broker(self, change: FloorChange | RefusedCard) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fan_out, change)

    def _fan_out(self, event: FloorEvent) -> None:
        for queue in list(self._streams):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.dropped += 1
                log.warning("an SSE stream fell %d events behind; dropped", QUEUE_DEPTH)
                self._close(queue)

    def _close(self, queue: asyncio.Queue[FloorEvent | _Closed]) -> None:
        self._streams.discard(queue)
        # Make room so the stream's reader is sure to see that it was closed.
        while queue.full():
            queue.get_nowait()
        queue.put_nowait(_CLOSED)

    async def _tick_amps(self) -> None:
        while True:
            await asyncio.sleep(self._amps_every_s)
            amps = self._floor.take_amps()
            if amps and self._streams:
                self._fan_out(AmpsTick(amps))


def is_closed(event: FloorEvent | _Closed) -> bool:
    """Whether the hub closed the stream this event came from."""
    return isinstance(event, _Closed)
