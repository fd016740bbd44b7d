"""15.11: a gateway coming up hears every card, even one shown while it loads its access list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import AccessList, AclEntry, BadgeDecision, card_hash, encode_payload
from gateway.spool import Spool
from harness.mosquitto import MosquittoServer
from tests.gateway.drivers.fakes.card_reader import FakeCardReader
from tests.security.conftest import AttackLog
from tests.security.gateway_floor import (
    GIULIA_CARD,
    KEY,
    MACHINE,
    DrawingPzem,
    Watcher,
    gateway_on_fakes,
)
from tests.waiting import eventually


@pytest.fixture
def watcher(mosquitto: MosquittoServer) -> Iterator[Watcher]:
    """A client watching the machine's badges and sessions."""
    watching = Watcher(mosquitto)
    yield watching
    watching.close()


def test_a_card_presented_while_the_gateway_loads_its_access_list_is_decided_and_published(
    mosquitto: MosquittoServer,
    watcher: Watcher,
    tmp_path: Path,
    attack: AttackLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The access list a previous run kept on disk: the only place Giulia's card is granted.
    granted = AclEntry(card=card_hash(GIULIA_CARD, KEY.encode()), member="giulia")
    kept = AccessList(id="acl-7", ts=1, version=7, entries=(granted,))
    earlier_run = Spool(tmp_path / "spool.db")
    earlier_run.store_access_list(MACHINE, 7, encode_payload(kept))
    earlier_run.close()

    reader = FakeCardReader()
    gateway = gateway_on_fakes(
        mosquitto, tmp_path, meter=DrawingPzem(energy_wh=1_000, wh_per_poll=0), reader=reader
    )
    loading = gateway.spool.access_list
    heard: list[bool] = []

    def present_while_loading(machine: str) -> bytes | None:
        heard.append(reader.present(GIULIA_CARD))  # Giulia badges as the gateway comes up
        return loading(machine)

    # The hook is on the real spool's read: the card comes at that instant, on its own.
    monkeypatch.setattr(gateway.spool, "access_list", present_while_loading)
    attack.tried(
        "15.11 badge at start-up",
        "a card presented at the instant a restarting gateway loads its access list from disk",
    )
    with gateway:
        eventually(lambda: len(watcher.badges) == 1, what="the badge to be decided and published")
        badge = watcher.badges[0]
        assert heard == [True]
        assert reader.unheard == []
        assert (badge.decision, badge.member) == (BadgeDecision.GRANTED, "giulia")
        assert gateway.counters[f"{MACHINE}.badges"] == 1
        assert gateway.workers[MACHINE].sessions.open_session is not None
    attack.held(
        "the reader was open before the list loaded; the card was granted by the kept list"
        " and its badge published on the real broker"
    )
