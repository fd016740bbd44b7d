"""`/plans`: membership plans' fees, and which plan a member is on from a day on."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Path, status

from services.api.deps import DbDep, StaffUser, StateDep
from services.api.routes.members import member_or_404
from services.api.routes.tariffs import percent
from services.api.schemas.common import Id
from services.api.schemas.plans import MemberPlanPublic, MemberPlanSave, PlanPublic, PlanSave
from services.billing.money import parse_vat_bp
from services.billing.tariffs import Plan

router = APIRouter(tags=["plans"])

PlanName = Annotated[Id, Path(description="The plan's name")]
MemberId = Annotated[Id, Path(description="The member's id")]


def plan_public(plan: Plan) -> PlanPublic:
    """A plan with its fee in cents and VAT in percent."""
    return PlanPublic(
        name=plan.name,
        monthly_fee_cents=plan.monthly_fee_cents,
        vat=percent(plan.vat_bp),
        allowances=len(plan.allowances),
        requires_credit=plan.requires_credit,
    )


@router.get("/plans")
def list_plans(staff: StaffUser, state: StateDep) -> list[PlanPublic]:
    """Every plan, by name."""
    plans = state.billing.ledger.plans()
    return [plan_public(plans[name]) for name in sorted(plans)]


@router.put("/plans/{plan}")
def save_plan(plan: PlanName, body: PlanSave, staff: StaffUser, state: StateDep) -> PlanPublic:
    """Create a plan, or change its fee and VAT (the time it includes is kept)."""
    known = state.billing.ledger.plans().get(plan) or Plan(name=plan)
    saved = replace(
        known,
        monthly_fee_cents=body.monthly_fee_cents,
        vat_bp=parse_vat_bp(body.vat, "vat"),
        requires_credit=body.requires_credit,
    )
    state.billing.ledger.save_plan(saved)
    return plan_public(saved)


@router.get("/members/{member}/plans")
def member_plans(
    member: MemberId, staff: StaffUser, state: StateDep, db: DbDep
) -> list[MemberPlanPublic]:
    """A member's plans from each day on, oldest first."""
    member_or_404(db, member)
    return [
        MemberPlanPublic(member=p.member, plan=p.plan, valid_from=p.valid_from)
        for p in state.billing.ledger.plan_periods()
        if p.member == member
    ]


@router.post("/members/{member}/plans", status_code=status.HTTP_201_CREATED)
def assign_plan(
    member: MemberId, body: MemberPlanSave, staff: StaffUser, state: StateDep, db: DbDep
) -> MemberPlanPublic:
    """Put a member on a plan (or on none) from a day on; earlier days keep their plan."""
    member_or_404(db, member)
    state.billing.ledger.assign_plan(member, body.plan, valid_from=body.valid_from)
    return MemberPlanPublic(member=member, plan=body.plan, valid_from=body.valid_from)
