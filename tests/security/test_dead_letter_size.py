"""15.2: a refused payload of a megabyte is kept as a bounded prefix with its size, not whole.

The broker refuses anything larger than the contract's limit (tests/security/test_broker_limits.py),
so the largest payload ingest can be handed is one at that limit: this test sends exactly that.
"""

from __future__ import annotations

from pathlib import Path

from contract import MAX_PAYLOAD_BYTES, encode_payload
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


def test_a_payload_at_the_size_limit_leaves_a_bounded_dead_letter_with_its_size(
    attack: AttackLog, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    head = b'{"v":1,"id":"'
    huge = head + b"x" * (MAX_PAYLOAD_BYTES - len(head))  # not JSON: never closed
    valid = plausible_session()
    attack.tried(
        "15.2 size limits", f"a {len(huge)}-byte session payload, then a valid session, via ingest"
    )

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
