"""A machine's booking rules as people set them: checked, stored, and sent to its gateway.

The api's route and the machine's page both come here, so a rule is refused the same way
(naming the field) wherever it is written, and the gateway learns new opening hours at once.
"""

from __future__ import annotations

from services.api.schemas.bookings import BookingRulesPublic, BookingRulesSave
from services.api.state import ApiState
from services.ledger import RegistryError
from services.ledger.reservations import BookingRules


def rules_public(rules: BookingRules) -> BookingRulesPublic:
    """Rules as the api shows them."""
    return BookingRulesPublic(
        machine=rules.machine,
        slot_minutes=rules.slot_minutes,
        horizon_days=rules.horizon_days,
        max_open=rules.max_open,
        grace_minutes=rules.grace_minutes,
        notice_minutes=rules.notice_minutes,
        warn_before_minutes=rules.warn_before_minutes,
        qualified_only=rules.qualified_only,
        plans=list(rules.plans),
        hours=rules.hours_text,
        closures=rules.closures_text,
    )


def save_rules(state: ApiState, machine: str, body: BookingRulesSave) -> BookingRules:
    """Store a machine's rules (RegistryError names a bad field) and republish its gateway."""
    known = state.billing.ledger.plans()
    unknown = sorted(set(body.plans) - known.keys())
    if unknown:
        raise RegistryError("plans", f"no such plan: {', '.join(unknown)}")
    rules = BookingRules(
        site=state.settings.site,
        machine=machine,
        slot_minutes=body.slot_minutes,
        horizon_days=body.horizon_days,
        max_open=body.max_open,
        grace_minutes=body.grace_minutes,
        notice_minutes=body.notice_minutes,
        warn_before_minutes=body.warn_before_minutes,
        qualified_only=body.qualified_only,
        plans=tuple(dict.fromkeys(body.plans)),
        hours_text=body.hours.strip(),
        closures_text=body.closures.strip(),
    )
    saved = state.reservations.save_rules(rules)
    state.bookings.machine_changed(machine)
    return saved


def drop_rules(state: ApiState, machine: str) -> bool:
    """Make a machine unbookable again and tell its gateway; False if it was not bookable."""
    dropped = state.reservations.drop_rules(state.settings.site, machine)
    if dropped:
        state.bookings.machine_changed(machine)
    return dropped
