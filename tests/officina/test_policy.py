"""The simulated workshop's gateways run by the policy its registry holds."""

from __future__ import annotations

from pathlib import Path

from contract import POLICY_FIELDS
from officina.simulation.floor import FloorOptions, gateway_config
from officina.simulation.workshop import GATEWAYS, MACHINES, SITE, enter_workshop
from services.billing.months import Month
from services.ledger import Registry, open_ledger


def test_each_simulated_gateway_is_configured_with_the_registrys_policy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    month = Month(2026, 3)
    enter_workshop(url, month)
    engine = open_ledger(url)
    try:
        registered = {
            row.id: {key: getattr(row, key) for key in POLICY_FIELDS}
            for row in Registry(engine).machines(site=SITE)
        }
    finally:
        engine.dispose()
    configured = {}
    for gateway in GATEWAYS:
        options = FloorOptions(
            gateway=gateway, month=month, broker_url="mqtt://x:1", workdir=tmp_path
        )
        on_floor = [m for m in MACHINES if m.gateway == gateway]
        for machine in gateway_config(options, on_floor).machines:
            configured[machine.id] = {key: getattr(machine, key) for key in POLICY_FIELDS}
    assert configured == registered
    assert {policy["idle_timeout_s"] for policy in registered.values()} == {600}
