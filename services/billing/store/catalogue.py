"""The catalogue: tariffs, plans and who is on which, statement languages, weights."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from services.billing.errors import BillingInputError
from services.billing.models import (
    BillingProfileRow,
    MemberPlanRow,
    PlanAllowanceRow,
    PlanRow,
    TariffRow,
    WeightRow,
)
from services.billing.store.base import StoreBase
from services.billing.tariffs import Allowance, Meter, Plan, PlanPeriod, Tariff
from services.ledger.models import MemberRow


class CatalogueStore(StoreBase):
    """Tariffs, plans, plan periods, statement languages and allocation weights."""

    def add_tariff(self, tariff: Tariff) -> None:
        """Add a tariff row; a second row for the same scope and day is refused."""
        with self._transaction("tariff") as db:
            db.add(
                TariffRow(
                    site=tariff.site or "",
                    machine=tariff.machine or "",
                    plan=tariff.plan or "",
                    valid_from=tariff.valid_from,
                    per_running_minute_micros=tariff.per_running_minute,
                    per_unlocked_minute_micros=tariff.per_unlocked_minute,
                    per_kwh_micros=tariff.per_kwh,
                    minimum_cents=tariff.minimum_cents,
                    vat_bp=tariff.vat_bp,
                    booking_fee_cents=tariff.booking_fee_cents,
                    no_show_cents=tariff.no_show_cents,
                    created_at=self._clock(),
                )
            )

    def tariffs(self) -> list[Tariff]:
        """Every tariff row, by scope and day."""
        query = select(TariffRow).order_by(
            TariffRow.site, TariffRow.machine, TariffRow.plan, TariffRow.valid_from
        )
        with self._transaction("read tariffs") as db:
            return [tariff_of(row) for row in db.scalars(query)]

    def save_plan(self, plan: Plan) -> None:
        """Create a plan or replace its fee and allowances."""
        with self._transaction("plan") as db:
            row = db.get(PlanRow, plan.name)
            if row is None:
                row = PlanRow(name=plan.name)
                db.add(row)
            row.monthly_fee_cents = plan.monthly_fee_cents
            row.vat_bp = plan.vat_bp
            row.requires_credit = plan.requires_credit
            row.allowances = [
                PlanAllowanceRow(
                    meter=allowance.meter.value,
                    quantity=allowance.quantity,
                    site=allowance.site or "",
                    machine=allowance.machine or "",
                )
                for allowance in plan.allowances
            ]

    def plans(self) -> dict[str, Plan]:
        """Every plan by name."""
        with self._transaction("read plans") as db:
            return {row.name: plan_of(row) for row in db.scalars(select(PlanRow))}

    def plan_periods(self) -> list[PlanPeriod]:
        """Every member's plans from each day on, by member and day."""
        query = select(MemberPlanRow).order_by(MemberPlanRow.member, MemberPlanRow.valid_from)
        with self._transaction("read members' plans") as db:
            return [PlanPeriod(row.member, row.valid_from, row.plan) for row in db.scalars(query)]

    def assign_plan(self, member: str, plan: str | None, *, valid_from: date) -> None:
        """Put a member on a plan (None: no plan) from a local day on."""
        with self._transaction("plan") as db:
            if db.get(MemberRow, member) is None:
                raise BillingInputError("member", f"{member!r} is not a registered member")
            if plan is not None and db.get(PlanRow, plan) is None:
                raise BillingInputError("plan", f"{plan!r} is not a plan")
            row = db.get(MemberPlanRow, (member, valid_from))
            if row is None:
                db.add(MemberPlanRow(member=member, valid_from=valid_from, plan=plan))
            else:
                row.plan = plan

    def set_locale(self, member: str, locale: str) -> None:
        """The language of a member's statements."""
        with self._transaction("locale") as db:
            if db.get(MemberRow, member) is None:
                raise BillingInputError("member", f"{member!r} is not a registered member")
            row = db.get(BillingProfileRow, member)
            if row is None:
                db.add(BillingProfileRow(member=member, locale=locale))
            else:
                row.locale = locale

    def set_weight(self, weight_set: str, member: str, weight_milli: int) -> None:
        """A member's weight (thousandths) in a named set such as `desks` or `square-metres`."""
        if weight_milli < 0:
            raise BillingInputError("weight", "must not be negative")
        with self._transaction("weight") as db:
            if db.get(MemberRow, member) is None:
                raise BillingInputError("member", f"{member!r} is not a registered member")
            row = db.get(WeightRow, (weight_set, member))
            if row is None:
                db.add(WeightRow(weight_set=weight_set, member=member, weight_milli=weight_milli))
            else:
                row.weight_milli = weight_milli


def tariff_of(row: TariffRow) -> Tariff:
    """A tariff row as the engine reads it."""
    return Tariff(
        valid_from=row.valid_from,
        site=row.site or None,
        machine=row.machine or None,
        plan=row.plan or None,
        per_running_minute=row.per_running_minute_micros,
        per_unlocked_minute=row.per_unlocked_minute_micros,
        per_kwh=row.per_kwh_micros,
        minimum_cents=row.minimum_cents,
        vat_bp=row.vat_bp,
        booking_fee_cents=row.booking_fee_cents,
        no_show_cents=row.no_show_cents,
    )


def plan_of(row: PlanRow) -> Plan:
    """A plan row, with its allowances, as the engine reads it."""
    return Plan(
        name=row.name,
        monthly_fee_cents=row.monthly_fee_cents,
        vat_bp=row.vat_bp,
        allowances=tuple(
            Allowance(
                meter=Meter(allowance.meter),
                quantity=allowance.quantity,
                site=allowance.site or None,
                machine=allowance.machine or None,
            )
            for allowance in row.allowances
        ),
        requires_credit=bool(row.requires_credit),
    )
