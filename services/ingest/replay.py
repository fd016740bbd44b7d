"""Replay dead letters: check each kept message again and book those that now pass.

After a fix (a contract that learnt a new optional field, a topic renamed on a gateway, InfluxDB
taking a field's type again) the operator replays the dead letters. Each is validated by the
same intake ingest runs, booked into the ledger (and InfluxDB), and marked replayed; a letter
that still fails stays where it is, with the reason it fails now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from contract import ContractError, TopicKind, parse_topic
from services.influx import InfluxClient
from services.ingest.intake import DAY_MS, Intake
from services.ingest.settings import MAX_SESSION_AGE_DAYS
from services.ledger import DeadLetterRow, SessionBook

log = logging.getLogger(__name__)

# Messages whose booking is (also) a point in InfluxDB.
_NEEDS_INFLUX = frozenset({TopicKind.TELEMETRY, TopicKind.STATE, TopicKind.STATUS})


@dataclass(frozen=True, slots=True)
class StillRejected:
    """A dead letter that fails again, and why."""

    letter_id: int
    topic: str
    error: str


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay did: letters booked, letters still failing, letters left for InfluxDB."""

    replayed: int = 0
    still_rejected: tuple[StillRejected, ...] = field(default=())
    waiting_for_influx: int = 0


def _needs_influx(topic: str) -> bool:
    try:
        return parse_topic(topic).kind in _NEEDS_INFLUX
    except ContractError:
        return False


def replay_dead_letters(
    *,
    ledger: SessionBook,
    influx: InfluxClient | None,
    limit: int | None = None,
    pseudonym_key: str | None = None,
) -> ReplayReport:
    """Replay the dead letters not yet replayed, oldest first; raise if a store fails."""
    replayed: list[int] = []
    still: list[StillRejected] = []
    waiting = 0
    for letter in ledger.dead_letters(oldest_first=True, limit=limit):
        if influx is None and _needs_influx(letter.topic):
            waiting += 1
            continue
        if letter.raw_size is not None and letter.raw_size > len(letter.raw):
            why = f"only the first {len(letter.raw)} of its {letter.raw_size} bytes were kept"
            still.append(StillRejected(letter.id, letter.topic, why))
            continue
        outcome = _book_again(letter, ledger=ledger, influx=influx, pseudonym_key=pseudonym_key)
        if outcome is None:
            ledger.mark_replayed([letter.id])
            replayed.append(letter.id)
        else:
            still.append(StillRejected(letter.id, letter.topic, outcome))
    log.info(
        "replayed %d dead letters; %d still rejected; %d wait for InfluxDB",
        len(replayed),
        len(still),
        waiting,
    )
    return ReplayReport(len(replayed), tuple(still), waiting)


def _book_again(
    letter: DeadLetterRow,
    *,
    ledger: SessionBook,
    influx: InfluxClient | None,
    pseudonym_key: str | None,
) -> str | None:
    """Book one dead letter; None when booked, else why it is still rejected."""
    intake = Intake(
        batch_size=1,
        flush_interval_s=1.0,
        with_lines=influx is not None,
        pseudonym_key=pseudonym_key,
        # An operator replays letters on purpose, after looking at them: a session's age is no
        # reason to refuse it again (its plausibility still is).
        session_max_age_ms=round(MAX_SESSION_AGE_DAYS * DAY_MS),
    )
    intake.take(letter.topic, bytes(letter.raw), generation=0, mid=0)
    batch = intake.next_batch(0.0)
    if batch is None:
        return "nothing to book"
    if batch.dead_letters:
        return batch.dead_letters[0].error
    ledger.book(batch.bookings())
    if influx is not None:
        influx.write_lines(batch.lines)
    return None
