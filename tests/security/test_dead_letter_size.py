"""15.2: a refused payload of megabytes is kept as a bounded prefix with its size, not whole."""

from __future__ import annotations

from pathlib import Path

from contract import encode_payload
from harness.plugin import MosquittoFactory
from services.ledger import DEAD_LETTER_KEEP_BYTES
from tests.security.conftest import AttackLog
from tests.security.ingesting import (
    SESSIONS_TOPIC,
    WAIT_S,
    plausible_session,
    publish_all,
    running_ingest,
)

THREE_MB = 3 * 1024 * 1024


def test_a_multi_megabyte_payload_leaves_a_bounded_dead_letter_with_its_size(
    attack: AttackLog, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    huge = b'{"v":1,"id":"' + b"x" * THREE_MB + b'"}'
    valid = plausible_session()
    attack.tried("15.2 size limits", "a 3 MB session payload, then a valid session, via ingest")

    with running_ingest(broker, ledger_url) as (ingest, _metrics):
        publish_all(broker, [(SESSIONS_TOPIC, huge), (SESSIONS_TOPIC, encode_payload(valid))])
        assert ingest.wait_for_count("rejected", 1, WAIT_S), ingest.counters
        assert ingest.wait_for_count("sessions_booked", 1, WAIT_S), ingest.counters
        letters = ingest.ledger.dead_letters()
        booked = ingest.ledger.sessions()

    (letter,) = letters
    assert letter.raw_size == len(huge)
    assert len(letter.raw) == DEAD_LETTER_KEEP_BYTES
    assert letter.raw == huge[:DEAD_LETTER_KEEP_BYTES]
    assert letter.field == "(root)"
    assert [row.id for row in booked] == [valid.id]
    attack.held(
        f"the dead letter keeps {DEAD_LETTER_KEEP_BYTES} bytes and raw_size={len(huge)}; "
        "the valid session next to it is booked"
    )
