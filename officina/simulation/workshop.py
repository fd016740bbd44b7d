"""The simulated workshop: its gateways and machines, a dozen members, their plans and habits,
the prices, and the month's shared bills; and how it is entered into a ledger.

Everything here is data a real workshop would enter by hand or through the api: the simulation
puts it into the ledger with the same registry and billing calls, so the month is billed by the
code that bills a real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from contract import card_hash
from officina.simulation.fiscal import member_parties
from services.billing.allocation import AllocationKey, CostPool
from services.billing.months import Month
from services.billing.store import BillingLedger
from services.billing.tariffs import Allowance, Meter, Plan, Tariff
from services.fiscal import BillingParty
from services.ledger.db import open_ledger
from services.ledger.models import MemberRow
from services.ledger.parties import add_party
from services.ledger.registry import MachineSpec, Registry

SITE = "officine-zero"
SITE_KEY = "officine-zero-simulation-site-key"
TIMEZONE = "Europe/Rome"
VOLTS = 230.0
POWER_FACTOR = 0.9
# The session rules every machine of the workshop is registered with.
IDLE_TIMEOUT_S = 600
MAX_DURATION_S = 8 * 3600.0
WARN_BEFORE_S = 60.0
HYSTERESIS_AMPS = 0.1
MIN_DWELL_S = 2.0


@dataclass(frozen=True, slots=True)
class SimMachine:
    """A machine on the floor: where it is wired, how much it draws, whether members badge."""

    id: str
    name: str
    gateway: str
    idle_amps: float  # the run-detection thresholds registered, which its gateway is sent
    run_amps: float
    draw_idle_amps: float  # what the machine really draws, idling and cutting
    draw_run_amps: float
    reader: bool = True

    def watts(self, amps: float) -> float:
        """Real power at a current: the nominal voltage and power factor the gateway assumes."""
        return amps * VOLTS * POWER_FACTOR


@dataclass(frozen=True, slots=True)
class Habit:
    """How a member works: which days, how long, how often they forget to badge out."""

    weekdays: tuple[int, ...]  # Monday = 0
    visits_per_day: tuple[int, int]
    cuts: tuple[int, int]
    cut_min: tuple[int, int]
    setup_min: tuple[int, int]
    walk_away: float = 0.0
    wrong_machine: float = 0.0  # chance per day of badging at a machine they are not trained on


@dataclass(frozen=True, slots=True)
class SimMember:
    """A member, their card, their plan and the machines they are trained on."""

    id: str
    name: str
    card_uid: str
    plan: str | None
    machines: tuple[str, ...]
    habit: Habit


MACHINES: tuple[SimMachine, ...] = (
    SimMachine("lathe-1", "Lathe (Graziano SAG 14)", "gw-hall-a", 0.6, 3.0, 1.1, 6.5),
    SimMachine("drill-press-1", "Drill press", "gw-hall-a", 0.5, 2.0, 0.9, 3.4),
    SimMachine("cnc-router-1", "CNC router", "gw-hall-b", 0.8, 4.0, 1.6, 9.0),
    SimMachine("laser-1", "Laser cutter 100 W", "gw-hall-b", 0.6, 2.5, 1.2, 5.2),
    SimMachine("bandsaw-1", "Band saw", "gw-yard", 0.5, 2.0, 0.9, 4.1),
    SimMachine("compressor-1", "Compressor (shared)", "gw-yard", 0.8, 3.0, 1.2, 7.5, reader=False),
)

GATEWAYS: tuple[str, ...] = tuple(dict.fromkeys(m.gateway for m in MACHINES))

# Setting up never takes as long as the idle timeout (10 min): a card held to the reader at the
# very moment the machine locks itself opens a new session rather than closing the old one. That
# is a hazard of a real floor too, but not what a month of these members is meant to exercise.
_STEADY = Habit((0, 1, 2, 3, 4), (1, 2), (1, 3), (6, 25), (2, 7))
_EVENINGS = Habit((1, 3, 5), (1, 2), (1, 2), (5, 20), (3, 7), walk_away=0.15)
_LONG = Habit((0, 2, 4), (1, 1), (2, 4), (20, 45), (3, 7), wrong_machine=0.05)
_OCCASIONAL = Habit((5,), (1, 1), (1, 2), (5, 15), (4, 7), walk_away=0.2, wrong_machine=0.1)

MEMBERS: tuple[SimMember, ...] = (
    SimMember("giulia", "Giulia Ferri", "04A1B2C3", "socio", ("lathe-1", "drill-press-1"), _STEADY),
    SimMember("marco", "Marco Conti", "04D4E5F6", "laser-pack", ("laser-1", "cnc-router-1"), _LONG),
    SimMember("chiara", "Chiara Neri", "04112233", "laser-pack", ("laser-1",), _STEADY),
    SimMember(
        "coop-legno",
        "Cooperativa Legno Vivo",
        "04445566",
        "socio",
        ("cnc-router-1", "bandsaw-1", "drill-press-1"),
        _LONG,
    ),
    SimMember("luca", "Luca Marino", "04778899", None, ("lathe-1", "bandsaw-1"), _EVENINGS),
    SimMember("sara", "Sara Greco", "04AABBCC", "socio", ("cnc-router-1", "laser-1"), _EVENINGS),
    SimMember("davide", "Davide Russo", "04CCDDEE", None, ("drill-press-1",), _OCCASIONAL),
    SimMember("elena", "Elena Gallo", "04102030", "socio", ("lathe-1",), _LONG),
    SimMember("paolo", "Paolo Costa", "04405060", None, ("bandsaw-1", "lathe-1"), _OCCASIONAL),
    SimMember("federica", "Federica Villa", "04708090", "laser-pack", ("laser-1",), _EVENINGS),
    SimMember("tommaso", "Tommaso Lombardi", "04A0B0C0", "socio", ("cnc-router-1",), _STEADY),
    SimMember(
        "arianna", "Arianna Rizzi", "04D0E0F0", None, ("drill-press-1", "bandsaw-1"), _OCCASIONAL
    ),
)

# Who is billed as what: the members that are organisations, and the women among the persons
# (a codice fiscale counts a woman's day of birth from 41).
ORGANISATIONS = frozenset({"coop-legno"})
WOMEN = frozenset({"giulia", "chiara", "sara", "elena", "federica", "arianna"})

STRANGER_CARD = "0DEADBEEF0"

PLANS: tuple[Plan, ...] = (
    Plan(
        name="socio",
        monthly_fee_cents=3000,
        vat_bp=2200,
        allowances=(Allowance(meter=Meter.RUNNING_MINUTES, quantity=2 * 3_600_000),),
    ),
    Plan(
        name="laser-pack",
        monthly_fee_cents=4500,
        vat_bp=2200,
        allowances=(
            Allowance(
                meter=Meter.RUNNING_MINUTES, quantity=5 * 3_600_000, site=SITE, machine="laser-1"
            ),
        ),
    ),
)

# Prices in micro-euros per unit, from the first day of the simulated year.
TARIFF_FROM = date(2026, 1, 1)
TARIFFS: tuple[Tariff, ...] = (
    Tariff(valid_from=TARIFF_FROM, per_running_minute=80_000, per_kwh=280_000, vat_bp=2200),
    Tariff(
        valid_from=TARIFF_FROM,
        site=SITE,
        machine="laser-1",
        per_running_minute=150_000,
        per_kwh=280_000,
        minimum_cents=200,
        vat_bp=2200,
    ),
    Tariff(
        valid_from=TARIFF_FROM,
        site=SITE,
        machine="cnc-router-1",
        per_running_minute=120_000,
        per_unlocked_minute=10_000,
        vat_bp=2200,
    ),
    Tariff(
        valid_from=TARIFF_FROM,
        site=SITE,
        machine="cnc-router-1",
        plan="socio",
        per_running_minute=90_000,
        per_unlocked_minute=10_000,
        vat_bp=2200,
    ),
)


def month_pools() -> tuple[CostPool, ...]:
    """The month's shared bills: rent, electricity (metered and not), the compressor's service."""
    return (
        CostPool(name="rent", total_cents=180_000, key=AllocationKey.MEMBER_DAYS, vat_bp=0),
        CostPool(
            name="electricity",
            total_cents=61_237,
            key=AllocationKey.KWH,
            billed_quantity=1_400_000_000,  # 1,400 kWh on the bill, in mWh
            remainder_key=AllocationKey.EQUAL,
            vat_bp=1000,
        ),
        CostPool(
            name="compressed-air",
            total_cents=9_950,
            key=AllocationKey.RUNNING_HOURS,
            machines=((SITE, "cnc-router-1"), (SITE, "bandsaw-1")),
            vat_bp=2200,
        ),
    )


def machine(machine_id: str) -> SimMachine:
    """The machine of this id."""
    for m in MACHINES:
        if m.id == machine_id:
            return m
    raise KeyError(machine_id)


def machine_spec(machine: SimMachine) -> MachineSpec:
    """The machine as the registry holds it, its whole policy included: what its gateway runs by."""
    return MachineSpec(
        site=SITE,
        id=machine.id,
        name=machine.name,
        gateway=machine.gateway,
        idle_amps=machine.idle_amps,
        run_amps=machine.run_amps,
        hysteresis_amps=HYSTERESIS_AMPS,
        min_dwell_s=MIN_DWELL_S,
        idle_timeout_s=IDLE_TIMEOUT_S,
        max_duration_s=MAX_DURATION_S,
        warn_before_s=WARN_BEFORE_S,
    )


def billing_parties(seed: int) -> dict[str, BillingParty]:
    """Each member's billing party, made from the simulation's seed."""
    return member_parties(
        [(m.id, m.name, None if m.id in ORGANISATIONS else m.id in WOMEN) for m in MEMBERS],
        seed,
    )


def enter_workshop(
    ledger_url: str, month: Month, *, joined: datetime | None = None, seed: int = 2026
) -> None:
    """Register the workshop in a ledger and enter the month's prices, plans, bills and each
    member's billing party."""
    key = SITE_KEY.encode()
    joined_at = joined or datetime(2025, 9, 1, tzinfo=UTC)
    engine = open_ledger(ledger_url)
    registry = Registry(engine, clock=lambda: joined_at)
    try:
        for m in MACHINES:
            registry.save_machine(machine_spec(m))
        for member in MEMBERS:
            registry.add_member(
                member_id=member.id,
                name=member.name,
                email=f"{member.id}@officine-zero.example",
            )
            registry.add_card(
                site=SITE, card_hash=card_hash(member.card_uid, key), member=member.id
            )
            for machine_id in member.machines:
                registry.qualify(member=member.id, site=SITE, machine=machine_id)
        with Session(engine) as db, db.begin():
            for member_id, party in billing_parties(seed).items():
                row = db.get(MemberRow, member_id)
                assert row is not None  # registered above
                add_party(db, row, label="fatture", party=party, default=True, now=joined_at)
    finally:
        engine.dispose()
    billing = BillingLedger.open(ledger_url)
    try:
        for plan in PLANS:
            billing.save_plan(plan)
        for tariff in TARIFFS:
            billing.add_tariff(tariff)
        for member in MEMBERS:
            if member.plan is not None:
                billing.assign_plan(member.id, member.plan, valid_from=date(2025, 9, 1))
        for pool in month_pools():
            billing.add_pool(month, pool, source="simulation")
    finally:
        billing.close()
