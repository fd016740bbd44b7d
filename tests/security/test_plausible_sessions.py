"""15.4: absurd sessions are dead-lettered naming the field; unknown members are held."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract import encode_payload
from harness.plugin import MosquittoFactory
from services.ledger import MachineSpec, Registry, RegistryError, ReviewQueue, open_ledger
from tests.ingest.examples import MACHINE, SITE
from tests.security.conftest import AttackLog
from tests.security.ingesting import (
    SESSIONS_TOPIC,
    TELEMETRY_TOPIC,
    WAIT_S,
    billed,
    month_of_ms,
    now_ms,
    plausible_session,
    price_machine_time,
    publish_all,
    raw_with,
    running_ingest,
    session_json,
)

DAY_MS = 86_400_000
YEAR_1_MS = -62_135_596_800_000
YEAR_9999_MS = 253_402_300_799_000
INT64_OVERFLOW = 2**63
RATED_W = 3000.0


def _registry(ledger_url: str) -> Registry:
    return Registry(open_ledger(ledger_url))


def _workshop(ledger_url: str) -> None:
    """Giulia in the registry, and the lathe with its plate's 3 kW."""
    registry = _registry(ledger_url)
    try:
        registry.add_member(member_id="giulia", name="Giulia")
        registry.save_machine(
            MachineSpec(
                site=SITE,
                id=MACHINE,
                name="Lathe",
                gateway="gw-1",
                idle_amps=0.5,
                run_amps=2.0,
                rated_w=RATED_W,
            )
        )
    finally:
        registry.engine.dispose()
    price_machine_time(ledger_url)


def test_absurd_sessions_are_dead_lettered_naming_the_field_and_the_month_stays_sane(
    attack: AttackLog, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    _workshop(ledger_url)
    now = now_ms()
    ten_minutes = {"started": now - 11 * 60_000, "ended": now - 60_000}
    forged = [
        ("unlocked_s", session_json(unlocked_s=1e300, running_s=1e300, idle_s=0.0)),
        ("energy_wh", session_json(energy_wh=1e300)),
        ("energy_wh", raw_with("energy_wh", "NaN")),
        ("energy_wh", raw_with("energy_wh", "1e999")),
        ("started", session_json(started=YEAR_1_MS, ended=YEAR_1_MS + 600_000)),
        ("started", session_json(started=YEAR_9999_MS, ended=YEAR_9999_MS + 600_000)),
        ("ended", session_json(started=now + 30 * DAY_MS, ended=now + 30 * DAY_MS + 600_000)),
        ("started", session_json(started=now - 100 * DAY_MS, ended=now - 100 * DAY_MS + 600_000)),
        ("started", session_json(started=INT64_OVERFLOW, ended=INT64_OVERFLOW + 1)),
        # Below the contract's ceiling, but more than the lathe's 3 kW could draw in 10 minutes.
        ("energy_wh", session_json(energy_wh=2000.0, **ten_minutes)),
    ]
    overflowing_seq = (
        f'{{"v":1,"id":"t-1","ts":{now},"seq":{INT64_OVERFLOW},"amps":1.0,"state":"running"}}'
    ).encode()
    valid = plausible_session(energy_wh=300.0)
    messages = [(SESSIONS_TOPIC, raw) for _, raw in forged]
    messages += [(TELEMETRY_TOPIC, overflowing_seq), (SESSIONS_TOPIC, encode_payload(valid))]
    attack.tried(
        "15.4 plausible sessions",
        "sessions with 1e300 s and Wh, NaN and 1e999 energy, years 1 and 9999, 30 days ahead, "
        "100 days old, int64 overflow, energy past the machine's rated power; a seq of 2**63",
    )

    with running_ingest(broker, ledger_url) as (ingest, _metrics):
        publish_all(broker, messages)
        assert ingest.wait_for_count("rejected", len(forged) + 1, WAIT_S), ingest.counters
        assert ingest.wait_for_count("sessions_booked", 1, WAIT_S), ingest.counters
        letters = ingest.ledger.dead_letters()
        booked = ingest.ledger.sessions()
        counters = dict(ingest.counters)

    assert sorted(letter.field or "" for letter in letters) == sorted(
        [field for field, _ in forged] + ["seq"]
    )
    assert all(letter.error for letter in letters)
    for field in {field for field, _ in forged}:
        assert counters[f"rejected.{field}"] == sum(1 for f, _ in forged if f == field)
    assert [row.id for row in booked] == [valid.id]
    ids, net_cents = billed(ledger_url, month_of_ms(valid.started))
    assert ids == [valid.id]
    # 8 running minutes at 1 cent and 0.3 kWh at 30 cents: cents, not 10^15 of them.
    assert 0 < net_cents < 100
    attack.held(
        "each is a dead letter naming its field and counted; the plausible session next to "
        f"them is booked, and the month bills {net_cents} cents"
    )


def test_a_session_of_a_member_the_registry_does_not_know_is_held_not_billed(
    attack: AttackLog, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    _workshop(ledger_url)
    known = plausible_session(member="giulia")
    ghost = plausible_session(member="ghost")
    nobody = plausible_session(member="nobody", started=known.started - 20 * 60_000)
    month = month_of_ms(known.started)
    attack.tried("15.4 plausible sessions", "sessions naming members the registry does not know")

    with running_ingest(broker, ledger_url) as (ingest, _metrics):
        publish_all(broker, [(SESSIONS_TOPIC, encode_payload(s)) for s in (known, ghost, nobody)])
        assert ingest.wait_for_count("sessions_booked", 3, WAIT_S), ingest.counters
        held_count = ingest.counters.get("sessions_held")

    engine = open_ledger(ledger_url)
    queue = ReviewQueue(engine)
    try:
        assert held_count == 2
        assert sorted(row.session_id for row in queue.held(site=SITE)) == sorted(
            [ghost.id, nobody.id]
        )
        assert billed(ledger_url, month)[0] == [known.id]
        with pytest.raises(RegistryError, match="member"):
            queue.release(ghost.id, by="coordinator")

        registry = Registry(engine)
        registry.add_member(member_id="ghost", name="Ghost, at last")
        queue.release(ghost.id, by="coordinator")
        queue.dismiss(nobody.id, by="coordinator")
        assert queue.held(site=SITE) == []
        assert billed(ledger_url, month)[0] == sorted([known.id, ghost.id])
    finally:
        engine.dispose()
    attack.held(
        "booked and held from billing; billed only once released after the member exists; "
        "a dismissed one never"
    )
