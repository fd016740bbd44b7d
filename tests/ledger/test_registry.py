"""The registry: members, cards as keyed hashes, machines with thresholds, qualifications."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from contract import card_hash
from services.ledger import MachineSpec, Registry, RegistryError, SessionBook
from tests.ingest.examples import SITE

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SECRET = b"site secret"
LATHE = MachineSpec(
    site=SITE, id="lathe-1", name="Tornio", gateway="gw-1", idle_amps=0.8, run_amps=4.0
)


@pytest.fixture
def registry(ledger_url: str) -> Iterator[Registry]:
    """A registry on a fresh ledger, on SQLite and on PostgreSQL."""
    ledger = SessionBook.open(ledger_url)
    try:
        yield Registry(ledger.engine, clock=lambda: NOW)
    finally:
        ledger.close()


def test_a_qualified_member_s_valid_card_is_on_the_machine_s_access_list(
    registry: Registry,
) -> None:
    registry.add_member(member_id="giulia", name="Giulia R.")
    registry.add_member(member_id="marco", name="Marco B.")
    registry.save_machine(LATHE)
    card = card_hash("04A1B2C3", SECRET)
    registry.add_card(site=SITE, card_hash=card, member="giulia")
    registry.add_card(site=SITE, card_hash=card_hash("0BADCAFE", SECRET), member="marco")
    until = NOW + timedelta(days=365)
    registry.qualify(member="giulia", site=SITE, machine="lathe-1", valid_until=until)

    entries = registry.access_list(SITE, "lathe-1", at=NOW)

    assert [(e.card_hash, e.member, e.until) for e in entries] == [(card, "giulia", until)]
    assert registry.is_qualified("giulia", SITE, "lathe-1", at=NOW)
    assert not registry.is_qualified("giulia", SITE, "lathe-1", at=until + timedelta(seconds=1))
    assert not registry.is_qualified("marco", SITE, "lathe-1", at=NOW)
    assert registry.card_owner(SITE, card) == "giulia"


def test_a_revoked_card_opens_nothing(registry: Registry) -> None:
    registry.add_member(member_id="giulia", name="Giulia R.")
    registry.save_machine(LATHE)
    card = card_hash("04A1B2C3", SECRET)
    registry.add_card(site=SITE, card_hash=card, member="giulia")
    registry.qualify(member="giulia", site=SITE, machine="lathe-1")

    registry.revoke_card(site=SITE, card_hash=card)

    assert registry.card_owner(SITE, card) is None
    assert registry.access_list(SITE, "lathe-1", at=NOW) == []
    assert [c.revoked_at for c in registry.cards("giulia")] == [NOW]


def test_saving_a_machine_again_updates_its_thresholds(registry: Registry) -> None:
    registry.save_machine(LATHE)
    registry.save_machine(
        MachineSpec(site=SITE, id="lathe-1", name="Tornio", gateway="gw-2", idle_amps=1, run_amps=5)
    )

    [machine] = registry.machines(site=SITE)
    assert (machine.gateway, machine.idle_amps, machine.run_amps) == ("gw-2", 1.0, 5.0)
    assert registry.machines(gateway="gw-1") == []


def test_a_machine_keeps_its_whole_policy(registry: Registry) -> None:
    registry.save_machine(
        MachineSpec(
            site=SITE,
            id="laser-1",
            name="Laser",
            gateway="gw-1",
            idle_amps=0.3,
            run_amps=1.5,
            idle_timeout_s=300,
            max_duration_s=7200,
            warn_before_s=120,
        )
    )
    [machine] = registry.machines(site=SITE)
    rules = (machine.idle_timeout_s, machine.max_duration_s, machine.warn_before_s)
    assert rules == (300.0, 7200.0, 120.0)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"id": "Lathe 1"}, "id"),
        ({"run_amps": 0.5}, "run_amps"),
        ({"hysteresis_amps": 0.9}, "hysteresis_amps"),
        ({"name": " "}, "name"),
        ({"idle_timeout_s": 0.0}, "idle_timeout_s"),
        ({"max_duration_s": float("inf")}, "max_duration_s"),
        ({"warn_before_s": -1.0}, "warn_before_s"),
    ],
)
def test_a_machine_with_impossible_settings_is_refused_naming_the_field(
    options: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {
        "site": SITE,
        "id": "lathe-1",
        "name": "Tornio",
        "gateway": "gw-1",
        "idle_amps": 0.8,
        "run_amps": 4.0,
    }
    with pytest.raises(RegistryError) as refused:
        MachineSpec(**{**values, **options})  # type: ignore[arg-type]
    assert refused.value.field == field


def test_garbage_registry_entries_are_refused_naming_the_field(registry: Registry) -> None:
    registry.add_member(member_id="giulia", name="Giulia R.")

    with pytest.raises(RegistryError, match="member_id") as taken:
        registry.add_member(member_id="giulia", name="Another")
    with pytest.raises(RegistryError) as raw_uid:
        registry.add_card(site=SITE, card_hash="04A1B2C3", member="giulia")
    with pytest.raises(RegistryError) as unknown:
        registry.add_card(site=SITE, card_hash=card_hash("0102ABCD", SECRET), member="nobody")
    with pytest.raises(RegistryError) as no_machine:
        registry.qualify(member="giulia", site=SITE, machine="cnc-9")

    assert taken.value.field == "member_id"
    assert raw_uid.value.field == "card_hash"  # a raw UID is personal data: only hashes go in
    assert unknown.value.field == "member"
    assert no_machine.value.field == "machine"
    assert [m.id for m in registry.members()] == ["giulia"]
