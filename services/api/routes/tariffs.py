"""`/tariffs`: machine prices from a day on, by machine and plan."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.api import queries
from services.api.deps import PersonUser, StaffUser, StateDep
from services.api.schemas.billing import TariffCreate, TariffPublic
from services.api.schemas.common import Id
from services.billing.money import micros_to_decimal, parse_cents, parse_micros, parse_vat_bp
from services.billing.tariffs import Tariff

router = APIRouter(prefix="/tariffs", tags=["tariffs"])


def plain(value: Decimal) -> str:
    """A decimal as people write it: `20`, `0.35`, never `2E+1`."""
    return format(value.normalize(), "f")


def percent(bp: int) -> str:
    """Basis points as a percentage."""
    return plain(Decimal(bp).scaleb(-2))


def tariff_public(tariff: Tariff) -> TariffPublic:
    """A tariff in euros and percent."""
    return TariffPublic(
        valid_from=tariff.valid_from,
        machine=tariff.machine,
        plan=tariff.plan,
        per_running_minute=plain(micros_to_decimal(tariff.per_running_minute)),
        per_unlocked_minute=plain(micros_to_decimal(tariff.per_unlocked_minute)),
        per_kwh=plain(micros_to_decimal(tariff.per_kwh)),
        minimum=str(Decimal(tariff.minimum_cents).scaleb(-2)),
        vat=percent(tariff.vat_bp),
        booking_fee=str(Decimal(tariff.booking_fee_cents).scaleb(-2)),
        no_show=str(Decimal(tariff.no_show_cents).scaleb(-2)),
    )


@router.get("")
def list_tariffs(
    user: PersonUser, state: StateDep, machine: Annotated[Id | None, Query()] = None
) -> list[TariffPublic]:
    """Tariffs of this site's machines (and site-wide ones), oldest first."""
    return [tariff_public(t) for t in queries.tariffs(state, machine)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_tariff(body: TariffCreate, staff: StaffUser, state: StateDep) -> TariffPublic:
    """Add prices from a day on; earlier days keep the prices they had."""
    tariff = Tariff(
        valid_from=body.valid_from,
        site=state.settings.site if body.machine else None,
        machine=body.machine,
        plan=body.plan,
        per_running_minute=parse_micros(body.per_running_minute, "per_running_minute"),
        per_unlocked_minute=parse_micros(body.per_unlocked_minute, "per_unlocked_minute"),
        per_kwh=parse_micros(body.per_kwh, "per_kwh"),
        minimum_cents=parse_cents(body.minimum, "minimum"),
        vat_bp=parse_vat_bp(body.vat, "vat"),
        booking_fee_cents=parse_cents(body.booking_fee, "booking_fee"),
        no_show_cents=parse_cents(body.no_show, "no_show"),
    )
    state.billing.ledger.add_tariff(tariff)
    return tariff_public(tariff)
