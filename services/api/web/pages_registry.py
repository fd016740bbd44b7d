"""The coordinator's registry pages: machines, gateways, tariffs and plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.api import queries
from services.api.deps import DbDep, StateDep
from services.api.gateway_toml import DEFAULT_SPOOL_PATH, Driver
from services.api.gateways import credentials
from services.api.photos import ACCEPTED, MAX_PHOTO_BYTES
from services.api.security import Role
from services.api.web.access import StaffPage
from services.api.web.i18n import language_of
from services.api.web.render import render
from services.billing.money import micros_to_decimal
from services.ledger import MachineRow

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class GatewayLine:
    """One gateway as its page shows it: its machines, its login and when it was last heard."""

    gateway: str
    machines: tuple[MachineRow, ...]
    mqtt_username: str | None
    issued_at: datetime | None
    online: bool | None
    heard: datetime | None


@router.get("/manage/machines", response_class=HTMLResponse)
def manage_machines(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Coordinators: the machines with their gateway and state, and forms to add or change one."""
    machines = queries.machines(state)
    live = {m.machine: m for m in queries.floor_now(state, user).machines}
    gateways = sorted({m.gateway for m in machines})
    return render(
        request,
        state,
        "manage_machines.html",
        user,
        machines=machines,
        live=live,
        gateways=gateways,
        photos=queries.photographed(state),
        accepted=ACCEPTED,
        max_photo_kib=MAX_PHOTO_BYTES // 1024,
    )


def _gateway_lines(state: StateDep, db: DbDep) -> list[GatewayLine]:
    site = state.settings.site
    machines = [m for m in queries.machines(state) if m.retired_at is None]
    issued = {row.gateway: row for row in credentials(db, site)}
    online = {m.gateway: m.gateway_online for m in state.floor.machines() if m.gateway}
    names = sorted({m.gateway for m in machines} | issued.keys())
    return [
        GatewayLine(
            gateway=gateway,
            machines=tuple(m for m in machines if m.gateway == gateway),
            mqtt_username=issued[gateway].mqtt_username if gateway in issued else None,
            issued_at=issued[gateway].issued_at if gateway in issued else None,
            online=online.get(gateway),
            heard=state.floor.gateway_heard(gateway),
        )
        for gateway in names
    ]


@router.get("/manage/gateways", response_class=HTMLResponse)
def manage_gateways(request: Request, state: StateDep, db: DbDep, user: StaffPage) -> Response:
    """Coordinators: the gateways and when they were last heard; admins issue their config."""
    return render(
        request,
        state,
        "manage_gateways.html",
        user,
        gateways=_gateway_lines(state, db),
        drivers=list(Driver),
        spool_path=DEFAULT_SPOOL_PATH,
        may_issue=user.role is Role.ADMIN,
    )


@router.get("/manage/tariffs", response_class=HTMLResponse)
def manage_tariffs(request: Request, state: StateDep, user: StaffPage) -> Response:
    """Coordinators: the prices from each day on, and a form to add new ones."""
    lang = language_of(request).value

    def price(micros: int) -> str:
        return format_decimal(micros_to_decimal(micros), format="#,##0.00####", locale=lang)

    machines = queries.machines(state)
    plans = state.billing.ledger.plans()
    return render(
        request,
        state,
        "manage_tariffs.html",
        user,
        tariffs=queries.tariffs(state),
        names={m.id: m.name for m in machines},
        machines=[m for m in machines if m.retired_at is None],
        price=price,
        plans=[plans[name] for name in sorted(plans)],
    )
