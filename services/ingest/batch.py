"""A batch: the messages ingest books together and acknowledges together once they are durable."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from services.ledger import Bookings, DeadLetter, MachineEvent, SiteSession

# Where a booking came from: (topic, raw bytes), kept to dead-letter it if refused. A plain
# tuple, not a class: one is held per message until its batch is booked, and the garbage collector
# stops tracking a tuple of a string and bytes, where instances of a class made every collection
# walk them (about a quarter of the network thread's time draining a backlog).
Source = tuple[str, bytes]


@dataclass(slots=True)
class Batch:
    """Messages received together; owned by the intake until closed, then by the booker."""

    opened: float
    # When it was closed and when the booker took it (time.monotonic), for the stage timeline.
    closed: float = 0.0
    taken: float = 0.0
    size: int = 0
    # Telemetry samples taken: nearly every message, so a plain int rather than a `counts` key.
    telemetry: int = 0
    lines: list[str] = field(default_factory=list)
    line_sources: list[Source] = field(default_factory=list)
    sessions: list[tuple[SiteSession, Source]] = field(default_factory=list)
    badges: list[tuple[MachineEvent, Source]] = field(default_factory=list)
    states: list[tuple[MachineEvent, Source]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # Packet ids by connection generation: an id is only valid on the connection that gave it.
    acks: dict[int, list[int]] = field(default_factory=dict)
    # Counted when the batch is durable, never before.
    counts: Counter[str] = field(default_factory=Counter)

    def bookings(self) -> Bookings:
        """What the ledger books for this batch, in one transaction."""
        return Bookings(
            sessions=[session for session, _ in self.sessions],
            badges=[badge for badge, _ in self.badges],
            states=[state for state, _ in self.states],
            dead_letters=self.dead_letters,
        )

    def ledger_items(self) -> list[tuple[Bookings, Source]]:
        """Each ledger booking on its own, to find the one a database refuses."""
        items = [(Bookings(sessions=[s]), source) for s, source in self.sessions]
        items += [(Bookings(badges=[b]), source) for b, source in self.badges]
        items += [(Bookings(states=[s]), source) for s, source in self.states]
        return items
