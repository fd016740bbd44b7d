"""`/gateways`: credentials issued once and shown once, and the broker files made from them."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import Response

from services.api import queries
from services.api.deps import AdminUser, DbDep, StaffUser, StateDep
from services.api.gateway_toml import GatewayLogin, Wiring, gateway_toml
from services.api.gateways import acl_file, credentials, issue_credentials, password_file
from services.api.schemas.common import Id
from services.api.schemas.gateways import (
    BrokerFiles,
    GatewayConfigCreate,
    GatewayCredentials,
    GatewayPublic,
)
from services.api.state import ApiState
from services.ledger import RegistryError

TOML_TYPE = "application/toml"

router = APIRouter(prefix="/gateways", tags=["gateways"])


def _machines_by_gateway(state: ApiState) -> dict[str, list[str]]:
    by_gateway: dict[str, list[str]] = defaultdict(list)
    for machine in queries.machines(state):
        by_gateway[machine.gateway].append(machine.id)
    return by_gateway


@router.get("")
def list_gateways(staff: StaffUser, state: StateDep, db: DbDep) -> list[GatewayPublic]:
    """Gateways named by machines or holding credentials, with their machines and presence."""
    site = state.settings.site
    machines = _machines_by_gateway(state)
    issued = {row.gateway: row for row in credentials(db, site)}
    online: dict[str, bool | None] = {}
    for live in state.floor.machines():
        if live.gateway is not None:
            online[live.gateway] = live.gateway_online
    return [
        GatewayPublic(
            gateway=gateway,
            mqtt_username=issued[gateway].mqtt_username if gateway in issued else None,
            issued_at=issued[gateway].issued_at if gateway in issued else None,
            machines=sorted(machines.get(gateway, [])),
            online=online.get(gateway),
        )
        for gateway in sorted(machines.keys() | issued.keys())
    ]


@router.post("/{gateway}/credentials", status_code=status.HTTP_201_CREATED)
def issue(
    gateway: Annotated[Id, Path(description="The gateway's id")],
    admin: AdminUser,
    state: StateDep,
    db: DbDep,
) -> GatewayCredentials:
    """Issue (or re-issue) a gateway's credentials; the password is shown here and never again."""
    issued = issue_credentials(
        db,
        passwords=state.passwords,
        site=state.settings.site,
        gateway=gateway,
        now=state.clock(),
    )
    db.commit()
    return GatewayCredentials(
        gateway=gateway,
        mqtt_username=issued.username,
        mqtt_password=issued.password,
        api_username=issued.username,
        api_password=issued.password,
        issued_at=issued.issued_at,
    )


def _wiring(body: GatewayConfigCreate, machines: list[str]) -> dict[str, Wiring]:
    """The wiring of each of the gateway's machines; every one wired, none from elsewhere."""
    wired: dict[str, Wiring] = {}
    for index, item in enumerate(body.machines):
        if item.machine not in machines:
            field = f"machines.{index}.machine"
            raise RegistryError(field, f"{item.machine!r} is not a machine of this gateway")
        if item.machine in wired:
            raise RegistryError(f"machines.{index}.machine", f"{item.machine!r} is wired twice")
        wired[item.machine] = Wiring(
            driver=item.driver,
            port=item.port,
            channel=item.channel,
            relay_channel=item.relay_channel,
        )
    missing = [m for m in machines if m not in wired]
    if missing:
        raise RegistryError("machines", f"no wiring for {', '.join(missing)}")
    ports = [w.port for w in wired.values()]
    if len(set(ports)) != len(ports):
        # The gateway opens each port for one machine only.
        raise RegistryError("machines", "each machine needs a serial port of its own")
    return wired


@router.post(
    "/{gateway}/config",
    status_code=status.HTTP_201_CREATED,
    response_class=Response,
    responses={201: {"content": {TOML_TYPE: {}}, "description": "The gateway's gateway.toml"}},
)
def issue_config(
    gateway: Annotated[Id, Path(description="The gateway's id")],
    body: GatewayConfigCreate,
    admin: AdminUser,
    state: StateDep,
    db: DbDep,
) -> Response:
    """A ready `gateway.toml` with freshly issued credentials (any earlier ones stop working)."""
    machines = [m for m in queries.machines(state) if m.gateway == gateway and m.retired_at is None]
    wiring = _wiring(body, [m.id for m in machines])
    issued = issue_credentials(
        db,
        passwords=state.passwords,
        site=state.settings.site,
        gateway=gateway,
        now=state.clock(),
    )
    text = gateway_toml(
        site=state.settings.site,
        gateway=gateway,
        site_key=state.settings.site_key,
        login=GatewayLogin(
            url=state.settings.gateway_broker, username=issued.username, password=issued.password
        ),
        machines=machines,
        wiring=wiring,
        spool_path=body.spool_path,
    )
    db.commit()
    return Response(
        text,
        status_code=status.HTTP_201_CREATED,
        media_type=TOML_TYPE,
        headers={
            "Content-Disposition": 'attachment; filename="gateway.toml"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/broker-files")
def broker_files(admin: AdminUser, state: StateDep, db: DbDep) -> BrokerFiles:
    """Mosquitto's password and ACL files: each gateway may touch only its own machines."""
    rows = credentials(db, state.settings.site)
    return BrokerFiles(
        password_file=password_file(rows),
        acl_file=acl_file(state.settings.site, rows, _machines_by_gateway(state)),
    )
