"""A gateway's ready `gateway.toml`: its site, key, broker login and the wiring of its machines.

Only wiring and the login: each machine's thresholds and session rules come from the registry
over the gateway's retained config topic, so they are set once, on the machines page.

Built as data and written by a TOML library, so the file is always valid TOML; the gateway's
own loader (`gateway.config.parse_config`) is the judge of whether it will start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import tomli_w

from services.ledger import MachineRow

DEFAULT_SPOOL_PATH = "/var/lib/officina/gateway.db"


class Driver(StrEnum):
    """How a machine is wired to its gateway: the boards a page can offer."""

    MCU = "mcu"  # an officina MCU board: current, reader and relay on one serial port
    PZEM004T = "pzem004t"  # a PZEM-004T meter on a serial port: metered, nobody badges


@dataclass(frozen=True, slots=True, kw_only=True)
class Wiring:
    """Where one machine's sensors are plugged into the gateway."""

    driver: Driver
    port: str
    channel: int = 0
    relay_channel: int = 0

    def as_toml(self) -> dict[str, Any]:
        """The machine table's keys for this wiring, as the gateway's `MachineConfig` takes them."""
        if self.driver is Driver.MCU:
            board = {"port": self.port, "channel": self.channel}
            return {"mcu": board | {"relay_channel": self.relay_channel}}
        return {"current": {"driver": self.driver.value, "port": self.port}}


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayLogin:
    """The broker the gateway connects to and the login just issued for it."""

    url: str
    username: str
    password: str


def gateway_toml(
    *,
    site: str,
    gateway: str,
    site_key: str,
    login: GatewayLogin,
    machines: Sequence[MachineRow],
    wiring: Mapping[str, Wiring],
    spool_path: str = DEFAULT_SPOOL_PATH,
) -> str:
    """The text of a gateway's `gateway.toml`, one `[[machines]]` table per machine it runs."""
    document: dict[str, Any] = {
        "site": site,
        "gateway": gateway,
        "site_key": site_key,
        "broker": {"url": login.url, "username": login.username, "password": login.password},
        "spool": {"path": spool_path},
        "machines": [{"id": m.id, "name": m.name, **wiring[m.id].as_toml()} for m in machines],
    }
    return tomli_w.dumps(document)
