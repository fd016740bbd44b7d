"""15.5: a session delivered again with another body is kept as first booked, and the copy shown."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from contract import encode_payload
from harness.plugin import MosquittoFactory
from services.ledger import MachineSpec, Registry, ReviewQueue, open_ledger
from tests.ingest.examples import MACHINE, SITE
from tests.ingest.test_operations import samples_of
from tests.security.conftest import AttackLog
from tests.security.ingesting import (
    SESSIONS_TOPIC,
    WAIT_S,
    plausible_session,
    publish_all,
    running_ingest,
)
from tests.waiting import eventually

CONFLICTS = "officina_ingest_session_conflicts_total"


def test_a_conflicting_copy_is_recorded_counted_and_the_first_booking_stands(
    attack: AttackLog, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = open_ledger(ledger_url)
    Registry(engine).save_machine(
        MachineSpec(site=SITE, id=MACHINE, name="Lathe", gateway="gw-1", idle_amps=0.5, run_amps=2)
    )
    first = plausible_session(energy_wh=300.0)
    # The same id, more energy and a later end of the same span: a different body.
    altered = first.model_copy(update={"energy_wh": 900.0, "ts": first.ts + 5000})
    attack.tried(
        "15.5 conflicts never silent",
        "the same session id delivered again with three times the energy, and an exact repeat",
    )

    with running_ingest(broker, ledger_url) as (ingest, metrics):
        publish_all(broker, [(SESSIONS_TOPIC, encode_payload(first))])
        assert ingest.wait_for_count("sessions_booked", 1, WAIT_S), ingest.counters
        publish_all(
            broker,
            [(SESSIONS_TOPIC, encode_payload(altered)), (SESSIONS_TOPIC, encode_payload(first))],
        )
        assert ingest.wait_for_count("sessions_duplicate", 2, WAIT_S), ingest.counters
        url = f"http://127.0.0.1:{metrics.port}/metrics"
        eventually(lambda: samples_of(httpx.get(url).text).get(CONFLICTS) == 1, what="counted")
        (booked,) = ingest.ledger.sessions()

    try:
        (conflict,) = ReviewQueue(engine).conflicts(site=SITE)
    finally:
        engine.dispose()
    assert booked.energy_wh == 300.0
    assert booked.deliveries == 3
    assert conflict.session_id == first.id
    assert conflict.topic == SESSIONS_TOPIC
    assert conflict.gateway == "gw-1"
    assert json.loads(conflict.booked)["energy_wh"] == 300.0
    assert json.loads(conflict.delivered)["energy_wh"] == 900.0
    attack.held(
        "the first booking stands; the copy is kept with both bodies, when and which gateway, "
        f"and {CONFLICTS} counts 1 (the exact repeat is a plain duplicate)"
    )
