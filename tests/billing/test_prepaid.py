"""Credit and packs in a real ledger: top-ups, a bank credit put on credit, packs sold and drawn
across a month end, and issued statements paid from credit as far as it goes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.billing.errors import BillingInputError, StatementStateError
from services.billing.exports import lines_csv
from services.billing.months import Month
from services.billing.payments import import_bank_file, payments_of
from services.billing.prepaid import CreditKind
from services.billing.reconcile import PaymentState
from services.billing.records import LineKind, StatementKind
from services.billing.tariffs import Meter, Plan, Tariff
from services.ledger import MachineSpec
from tests.billing.camt import Entry, camt053
from tests.billing.conftest import Shop, book, join
from tests.billing.examples import LASER, SITE, rome
from tests.billing.test_delivery import pdf_text

OCTOBER, NOVEMBER = Month(2026, 10), Month(2026, 11)
HOUR_MS = 3_600_000


def _laser(shop: Shop) -> None:
    shop.registry.save_machine(
        MachineSpec(site=SITE, id=LASER, name="Laser CO2", gateway="gw-1", idle_amps=1, run_amps=4)
    )
    shop.billing.ledger.add_tariff(
        Tariff(
            valid_from=date(2026, 1, 1),
            site=SITE,
            machine=LASER,
            per_running_minute=500_000,
            vat_bp=2200,
        )
    )


def test_a_pack_is_invoiced_when_sold_and_drawn_across_the_month_end(shop: Shop) -> None:
    _laser(shop)
    join(shop, "anna")
    ledger = shop.billing.ledger
    product = ledger.add_pack_product(
        name="2 ore laser",
        meter=Meter.RUNNING_MINUTES,
        quantity=2 * HOUR_MS,
        price_cents=5_000,
        vat_bp=2200,
        valid_days=90,
        site=SITE,
        machine=LASER,
    )
    shop.clock.now = datetime(2026, 10, 1, 8, tzinfo=UTC)
    pack = ledger.buy_pack("anna", product.id, by="coordinator")
    book(shop, "anna", rome(2026, 10, 5, 9), minutes=90)
    # 60 minutes across midnight on 31 October: 30 in October, 30 in November.
    book(shop, "anna", rome(2026, 10, 31, 23, 30), minutes=60)
    shop.clock.now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    shop.billing.make_drafts(OCTOBER)
    [october] = ledger.statements(OCTOBER, kind=StatementKind.STATEMENT)
    [sold] = october.lines_of_kind(LineKind.PACK)
    assert (sold.net_cents, sold.vat_bp, sold.note) == (5_000, 2200, "2 ore laser")
    [drawn] = october.lines_of_kind(LineKind.PACK_DRAW)
    assert (drawn.net_cents, drawn.quantity, drawn.reference) == (0, 2 * HOUR_MS, str(pack.id))
    assert sum(line.net_cents for line in october.lines_of_kind(LineKind.SESSION)) == 0
    assert (october.net_cents, october.vat_cents) == (5_000, 1_100)
    [left] = ledger.member_packs("anna")
    assert left.left == 0
    # The PDF shows the pack sold and what was drawn; the CSV of lines names both kinds.
    text = pdf_text(shop.billing.pdf(october))
    assert "Pacchetti" in text and "2 ore laser" in text and "usato dal pacchetto" in text
    rows = lines_csv([october], shop.billing.tz, "it")
    assert "pack_draw" in rows and ";pack;" in rows

    shop.billing.make_drafts(NOVEMBER)
    [november] = ledger.statements(NOVEMBER, kind=StatementKind.STATEMENT)
    # The pack is spent: November's half hour is priced, 30 minutes at 0.50 €.
    assert november.lines_of_kind(LineKind.PACK_DRAW) == []
    assert november.net_cents == 1_500


def test_credit_pays_issued_statements_as_far_as_it_goes(shop: Shop) -> None:
    _laser(shop)
    join(shop, "anna")
    join(shop, "bruno")
    ledger = shop.billing.ledger
    ledger.top_up("anna", 2_000, by="coordinator", note="contanti")
    ledger.top_up("bruno", 50_000, by="coordinator", note="bonifico")
    book(shop, "anna", rome(2026, 10, 5, 9), minutes=60)  # 30.00 + 22 % = 36.60
    book(shop, "bruno", rome(2026, 10, 6, 9), minutes=60)
    shop.billing.make_drafts(OCTOBER)
    shop.billing.issue(OCTOBER)
    issued = {s.member: s for s in ledger.statements(OCTOBER, kind=StatementKind.STATEMENT)}
    anna, bruno = issued["anna"], issued["bruno"]
    assert anna.total_cents == bruno.total_cents == 3_660

    part = ledger.statement_credit(anna.id)
    assert part is not None
    assert (part.drawn_cents, part.owed_cents, part.balance_after_cents) == (2_000, 1_660, 0)
    # The PDF says what credit paid, what is still owed and the credit left.
    text = pdf_text(shop.billing.pdf(anna))
    assert "Pagato con il credito" in text and "20,00" in text
    assert "Resta da pagare" in text and "16,60" in text and "Credito residuo" in text
    whole = ledger.statement_credit(bruno.id)
    assert whole is not None
    assert (whole.drawn_cents, whole.owed_cents, whole.balance_after_cents) == (3_660, 0, 46_340)
    states = payments_of(shop.billing, [anna, bruno], date(2026, 11, 20))
    assert states[anna.id].state is PaymentState.PART_PAID
    assert states[bruno.id].state is PaymentState.PAID
    # Issuing again draws nothing twice; top-ups = balance + drawn.
    assert ledger.pay_issued_from_credit([anna.id, bruno.id]) == []
    for member, topped in (("anna", 2_000), ("bruno", 50_000)):
        moves = ledger.credit_movements(member)
        drawn = -sum(m.amount_cents for m in moves if m.kind is not CreditKind.TOP_UP)
        assert topped == ledger.credit_balance(member) + drawn


def test_a_bank_credit_goes_on_a_members_credit_once(shop: Shop) -> None:
    join(shop, "carla")
    import_bank_file(shop.billing, camt053([Entry(2_500, "Carla Verdi", text="ricarica")]))
    ledger = shop.billing.ledger
    (waiting,) = ledger.payments(unmatched=True)

    moved = ledger.credit_to_top_up(waiting.id, "carla", by="coordinator")

    assert (moved.kind, moved.amount_cents, moved.balance_after_cents) == (
        CreditKind.TOP_UP,
        2_500,
        2_500,
    )
    assert moved.payment_id == waiting.id
    assert ledger.payments(unmatched=True) == []
    with pytest.raises(StatementStateError):
        ledger.credit_to_top_up(waiting.id, "carla", by="coordinator")
    with pytest.raises(StatementStateError):
        ledger.assign_payment(waiting.id, None, by="coordinator")
    assert ledger.credit_balance("carla") == 2_500


@pytest.mark.parametrize(
    ("member", "cents", "field"),
    [
        ("nobody", 100, "member"),
        ("anna", 0, "amount"),
        ("anna", -5, "amount"),
        ("anna", 10**9, "amount"),
    ],
)
def test_a_bad_top_up_is_refused_naming_the_field(
    shop: Shop, member: str, cents: int, field: str
) -> None:
    join(shop, "anna")
    with pytest.raises(BillingInputError) as refused:
        shop.billing.ledger.top_up(member, cents, by="coordinator")
    assert refused.value.field == field
    assert shop.billing.ledger.credit_balance("anna") == 0


def test_credit_taken_back_never_goes_below_zero(shop: Shop) -> None:
    join(shop, "anna")
    ledger = shop.billing.ledger
    ledger.top_up("anna", 1_000, by="coordinator")
    with pytest.raises(BillingInputError) as refused:
        ledger.take_back("anna", 1_001, by="coordinator", note="typed twice")
    assert refused.value.field == "amount"
    ledger.take_back("anna", 1_000, by="coordinator", note="typed twice")
    assert ledger.credit_balance("anna") == 0


def test_what_her_packs_still_hold_counts_at_the_gate_when_her_credit_is_spent(
    shop: Shop,
) -> None:
    shop.registry.save_machine(
        MachineSpec(
            site=SITE,
            id=LASER,
            name="Laser CO2",
            gateway="gw-1",
            idle_amps=1,
            run_amps=4,
            rated_w=2_000,
        )
    )
    ledger = shop.billing.ledger
    ledger.add_tariff(
        Tariff(
            valid_from=date(2026, 1, 1),
            site=SITE,
            machine=LASER,
            per_running_minute=500_000,
            vat_bp=2200,
        )
    )
    ledger.save_plan(Plan(name="prepaid", requires_credit=True))
    join(shop, "anna")
    ledger.assign_plan("anna", "prepaid", valid_from=date(2026, 1, 1))
    hours = ledger.add_pack_product(
        name="2 ore laser",
        meter=Meter.RUNNING_MINUTES,
        quantity=2 * HOUR_MS,
        price_cents=5_000,
        vat_bp=2200,
        valid_days=90,
        machine=LASER,
    )
    energy = ledger.add_pack_product(
        name="1 kWh",
        meter=Meter.KWH,
        quantity=1_000_000,
        price_cents=100,
        vat_bp=2200,
        valid_days=30,
    )
    elsewhere = ledger.add_pack_product(
        name="2 ore tornio",
        meter=Meter.RUNNING_MINUTES,
        quantity=2 * HOUR_MS,
        price_cents=5_000,
        vat_bp=2200,
        valid_days=90,
        machine="lathe-1",
    )

    def credit_s(at: datetime, machine: str = LASER) -> float | None:
        gate = ledger.gate_credit(SITE, machine, {"anna"}, now=at, tz=shop.billing.tz)
        return gate["anna"].running_s

    shop.clock.now = datetime(2026, 10, 1, 8, tzinfo=UTC)
    assert credit_s(shop.clock.now) == 0.0
    ledger.buy_pack("anna", hours.id, by="coordinator")
    ledger.buy_pack("anna", elsewhere.id, by="coordinator")
    # No money at all: the two laser hours are what she may run here.
    assert credit_s(datetime(2026, 10, 2, 8, tzinfo=UTC)) == 7_200.0
    # 30 running minutes drawn from the pack, not priced: 90 minutes left, no money owed.
    book(shop, "anna", rome(2026, 10, 5, 9), minutes=30)
    assert credit_s(datetime(2026, 10, 6, 8, tzinfo=UTC)) == 5_400.0
    # A kWh pack at the laser's 2 kW plate power runs half an hour.
    ledger.buy_pack("anna", energy.id, by="coordinator")
    assert credit_s(datetime(2026, 10, 6, 8, tzinfo=UTC)) == 5_400.0 + 1_800.0
    # Drafts do not change the estimate: the draw is counted once.
    shop.billing.make_drafts(OCTOBER)
    assert credit_s(datetime(2026, 10, 7, 8, tzinfo=UTC)) == 5_400.0 + 1_800.0
    # Packs that expired count no more; money still counts beside them.
    ledger.top_up("anna", 610, by="coordinator", note="contanti")
    assert credit_s(datetime(2027, 2, 1, 8, tzinfo=UTC)) == 600.0


def test_energy_packs_are_not_counted_where_the_rated_power_is_unknown(shop: Shop) -> None:
    _laser(shop)
    ledger = shop.billing.ledger
    ledger.save_plan(Plan(name="prepaid", requires_credit=True))
    join(shop, "anna")
    ledger.assign_plan("anna", "prepaid", valid_from=date(2026, 1, 1))
    energy = ledger.add_pack_product(
        name="1 kWh",
        meter=Meter.KWH,
        quantity=1_000_000,
        price_cents=100,
        vat_bp=2200,
        valid_days=30,
    )
    shop.clock.now = datetime(2026, 10, 1, 8, tzinfo=UTC)
    ledger.buy_pack("anna", energy.id, by="coordinator")
    gate = ledger.gate_credit(SITE, LASER, {"anna"}, now=shop.clock.now, tz=shop.billing.tz)
    assert gate["anna"].running_s == 0.0


def test_redrafting_a_month_brings_the_later_months_pack_draws_up_to_date(shop: Shop) -> None:
    _laser(shop)
    join(shop, "anna")
    ledger = shop.billing.ledger
    product = ledger.add_pack_product(
        name="2 ore laser",
        meter=Meter.RUNNING_MINUTES,
        quantity=2 * HOUR_MS,
        price_cents=5_000,
        vat_bp=2200,
        valid_days=90,
    )
    shop.clock.now = datetime(2026, 10, 1, 8, tzinfo=UTC)
    ledger.buy_pack("anna", product.id, by="coordinator")
    book(shop, "anna", rome(2026, 10, 5, 9), minutes=60)
    book(shop, "anna", rome(2026, 11, 5, 9), minutes=90)
    shop.clock.now = datetime(2026, 12, 2, 9, tzinfo=UTC)

    def drawn(month: Month) -> int:
        [statement] = ledger.statements(month, kind=StatementKind.STATEMENT)
        return sum(line.quantity or 0 for line in statement.lines_of_kind(LineKind.PACK_DRAW))

    shop.billing.make_drafts(NOVEMBER)
    # November drafted first draws the whole pack: October has no draft yet.
    assert drawn(NOVEMBER) == 90 * 60_000
    shop.billing.make_drafts(OCTOBER)
    # October draws first (its sessions came first), and November is made again with the rest.
    assert drawn(OCTOBER) == HOUR_MS
    assert drawn(NOVEMBER) == HOUR_MS
    assert ledger.member_packs("anna")[0].left == 0
    # Made again with nothing new: nothing changes, nothing is redone.
    assert shop.billing.make_drafts(OCTOBER).later_drafts == ()

    # November issued: a late October session that changes October's draw is refused, naming it.
    shop.billing.issue(NOVEMBER)
    [issued] = ledger.statements(NOVEMBER, kind=StatementKind.STATEMENT)
    book(shop, "anna", rome(2026, 10, 20, 9), minutes=30)
    with pytest.raises(StatementStateError) as refused:
        shop.billing.make_drafts(OCTOBER)
    assert issued.number is not None and issued.number in str(refused.value)
    assert drawn(OCTOBER) == HOUR_MS  # the drafts were left as they were
