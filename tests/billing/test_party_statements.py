"""A member with several billing parties gets one statement per party, each with its own sessions.

The card used at badge-in picks the party; the plan fee, allowances and pool shares go to the
member's default party. On SQLite and PostgreSQL, and in fattura mode each statement's file is
made out to its own party.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime

import xmlschema
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract import card_hash
from services.billing.allocation import AllocationKey, CostPool
from services.billing.engine import MonthInputs, bill_month
from services.billing.months import Month
from services.billing.records import LineKind, StatementStatus
from services.billing.tariffs import Allowance, Meter, Plan, PlanPeriod, Tariff, TariffBook
from services.billing.usage import UsageSession
from services.fiscal import BillingParty
from services.ledger.models import BillingPartyRow, CardRow, MemberRow
from services.ledger.parties import add_party, assign_card, remove_party
from tests.billing.conftest import CARD, Shop, book, join
from tests.billing.examples import ROME, SITE, member, rome, usage
from tests.billing.test_fiscal_documents import xml_text
from tests.billing.test_fiscal_issue import fattura_billing
from tests.fatturapa_schema import fatturapa_schema
from tests.fiscal.examples import PEC, company, person

__all__ = ["fatturapa_schema"]

OCTOBER = Month(2026, 10)
COMPANY_CARD = card_hash("04D5E6F7", b"billing test secret")
LASER_TARIFF = Tariff(valid_from=date(2026, 1, 1), per_running_minute=350_000, vat_bp=2200)
PLAN = Plan(name="base", monthly_fee_cents=2_500, vat_bp=2200)


def add_parties(shop: Shop, member_id: str, own: BillingParty, firm: BillingParty) -> int:
    """Anna's own party (her default) and her company's, which her second card goes to."""
    shop.registry.add_card(site=SITE, card_hash=CARD, member=member_id)
    shop.registry.add_card(site=SITE, card_hash=COMPANY_CARD, member=member_id, label="ditta")
    with Session(shop.billing.ledger.engine) as db, db.begin():
        row = db.get(MemberRow, member_id)
        assert row is not None
        now = datetime(2026, 9, 1, tzinfo=UTC)
        add_party(db, row, label="privata", party=own, default=True, now=now)
        second = add_party(db, row, label="ditta", party=firm, default=False, now=now)
        card = db.scalar(select(CardRow).where(CardRow.card_hash == COMPANY_CARD))
        assert card is not None
        assign_card(db, card, second)
        return second.id


def two_card_month(shop: Shop, own: BillingParty, firm: BillingParty) -> int:
    """Anna on a plan, two laser sessions on each card, Bruno once; rent split equally."""
    ledger = shop.billing.ledger
    ledger.add_tariff(LASER_TARIFF)
    ledger.save_plan(PLAN)
    for member_id in ("anna", "bruno"):
        join(shop, member_id)
    ledger.assign_plan("anna", "base", valid_from=date(2026, 1, 1))
    firm_id = add_parties(shop, "anna", own, firm)
    book(shop, "anna", rome(2026, 10, 5, 9), minutes=40)
    book(shop, "anna", rome(2026, 10, 6, 9), minutes=30, card=COMPANY_CARD)
    book(shop, "anna", rome(2026, 10, 7, 9), minutes=20)
    book(shop, "anna", rome(2026, 10, 8, 9), minutes=50, card=COMPANY_CARD)
    book(shop, "bruno", rome(2026, 10, 9, 9), minutes=10)
    ledger.add_pool(OCTOBER, CostPool(name="affitto", total_cents=10_001, key=AllocationKey.EQUAL))
    return firm_id


def test_two_cards_on_two_parties_make_two_statements_that_follow_the_cards(shop: Shop) -> None:
    firm_id = two_card_month(shop, person(pec=PEC), company())
    result = shop.billing.make_drafts(OCTOBER)
    assert result.made == 3

    anna = shop.billing.ledger.statements(OCTOBER, member="anna")
    assert [(s.party_label, s.party_id == firm_id) for s in anna] == [
        ("privata", False),
        ("ditta", True),
    ]
    own, firm = anna
    minutes = {
        s.party_label: [line.running_ms for line in s.lines_of_kind(LineKind.SESSION)] for s in anna
    }
    assert minutes == {"privata": [40 * 60_000, 20 * 60_000], "ditta": [30 * 60_000, 50 * 60_000]}
    assert [line.reference for line in own.lines_of_kind(LineKind.PLAN_FEE)] == ["base"]
    assert [line.reference for line in own.lines_of_kind(LineKind.POOL_SHARE)] == ["affitto"]
    assert firm.lines_of_kind(LineKind.PLAN_FEE) == []
    assert firm.lines_of_kind(LineKind.POOL_SHARE) == []

    # Her two statements add up to the one she would have had with a single party.
    inputs = shop.billing.ledger.month_inputs(OCTOBER, ROME)
    single = bill_month(
        replace(
            inputs,
            sessions=[s._replace(party=None) for s in inputs.sessions],
            members={k: replace(v, default_party=None) for k, v in inputs.members.items()},
        )
    )
    (whole,) = [s for s in single.statements if s.member.id == "anna"]
    assert own.net_cents + firm.net_cents == whole.net_cents
    assert abs(own.total_cents + firm.total_cents - whole.total_cents) <= 1  # VAT per document

    # Drafting again replaces both drafts; issuing numbers them in one series, default first.
    again = shop.billing.make_drafts(OCTOBER)
    assert (again.made, again.replaced) == (3, 3)
    assert shop.billing.issue(OCTOBER) == ["2026/0001", "2026/0002", "2026/0003"]
    issued = shop.billing.ledger.statements(OCTOBER, member="anna")
    assert [(s.number, s.party_label) for s in issued] == [
        ("2026/0001", "privata"),
        ("2026/0002", "ditta"),
    ]
    assert {s.status for s in issued} == {StatementStatus.ISSUED}

    # A session booked late differs from the issued statement of its party only.
    book(shop, "anna", rome(2026, 10, 20, 9), minutes=15, card=COMPANY_CARD)
    late = shop.billing.make_drafts(OCTOBER)
    assert (late.made, late.already_issued, late.differ_from_issued) == (0, 3, ("anna",))


def test_a_card_of_a_deleted_party_bills_to_the_default_one(shop: Shop) -> None:
    firm_id = two_card_month(shop, person(pec=PEC), company())
    with Session(shop.billing.ledger.engine) as db, db.begin():
        party = db.get(BillingPartyRow, firm_id)
        assert party is not None
        remove_party(db, party)
    shop.billing.make_drafts(OCTOBER)
    (anna,) = shop.billing.ledger.statements(OCTOBER, member="anna")
    assert anna.party_label == "privata"
    assert len(anna.lines_of_kind(LineKind.SESSION)) == 4


def test_in_fattura_mode_each_statement_goes_to_its_own_party(
    shop: Shop, fatturapa_schema: xmlschema.XMLSchema
) -> None:
    billing = fattura_billing(shop)
    own, firm = person(pec=PEC), company()
    two_card_month(shop, own, firm)
    with Session(shop.billing.ledger.engine) as db, db.begin():
        row = db.get(MemberRow, "bruno")
        assert row is not None
        now = datetime(2026, 9, 1, tzinfo=UTC)
        add_party(db, row, label="fatture", party=company(), default=True, now=now)
    billing.make_drafts(OCTOBER)
    billing.issue(OCTOBER)

    mine, theirs = billing.ledger.statements(OCTOBER, member="anna")
    for statement, party in ((mine, own), (theirs, firm)):
        stored = billing.fiscal_document(statement)
        fatturapa_schema.validate(stored.xml.decode())
        assert stored.party == party
        context = billing.fiscal_context(statement)
        assert context is not None and context.party == party
    firm_xml = billing.fiscal_document(theirs).xml
    assert xml_text(firm_xml, "//CessionarioCommittente//IdCodice") == [firm.vat_number]
    mine_xml = billing.fiscal_document(mine).xml
    assert xml_text(mine_xml, "//CessionarioCommittente//CodiceFiscale") == [own.fiscal_code]

    register = billing.register(Month(2026, 11))
    names = {row.number: row.party_name for row in register}
    assert names[mine.number or ""] == own.display_name
    assert names[theirs.number or ""] == firm.display_name

    note = billing.credit(theirs.number or "", reason="Laser guasto", net_cents=500, vat_bp=2200)
    assert note.party_label == "ditta"
    assert billing.fiscal_document(note).party == firm


# --- the rule, over random months: no cent created or lost -----------------------------------

MEMBERS = ("anna", "bruno")
PARTIES = {"anna": (1, 2, 3), "bruno": (4,)}
DEFAULTS = {"anna": 1, "bruno": 4}
RATES = {"laser-1": 2200, "lathe-1": 0}
ALLOWANCE_MS = 45 * 60_000

session_rows = st.lists(
    st.tuples(
        st.sampled_from(MEMBERS),
        st.integers(min_value=1, max_value=30),  # day
        st.integers(min_value=1, max_value=180),  # minutes
        st.sampled_from(sorted(RATES)),
        st.integers(min_value=0, max_value=3),  # card: 0 no party, else the n-th of hers
    ),
    max_size=25,
)


def month_of(rows: list[tuple[str, int, int, str, int]], with_parties: bool) -> MonthInputs:
    """A random October: two members, tariffs at two rates, a plan with an allowance, a pool."""
    sessions: list[UsageSession] = []
    for n, (who, day, minutes, machine, card) in enumerate(rows):
        theirs = PARTIES[who]
        party = theirs[(card - 1) % len(theirs)] if card and with_parties else None
        session = usage(who, rome(2026, 10, day, 8 + n % 10, n % 60), minutes=minutes)
        sessions.append(session._replace(id=f"s{n:03d}", machine=machine, party=party))
    tariffs = [
        Tariff(
            valid_from=date(2026, 1, 1),
            site=SITE,
            machine=m,
            per_running_minute=123_457,
            vat_bp=rate,
        )
        for m, rate in RATES.items()
    ]
    plan = Plan(
        name="base",
        monthly_fee_cents=1_999,
        vat_bp=2200,
        allowances=(Allowance(meter=Meter.RUNNING_MINUTES, quantity=ALLOWANCE_MS),),
    )
    members = {
        m: replace(member(m), default_party=DEFAULTS[m] if with_parties else None) for m in MEMBERS
    }
    return MonthInputs(
        month=OCTOBER,
        tz=ROME,
        sessions=sessions,
        members=members,
        plans={"base": plan},
        plan_periods=[PlanPeriod("anna", date(2026, 1, 1), "base")],
        tariffs=TariffBook.of(tariffs),
        pools=[CostPool(name="affitto", total_cents=10_001, key=AllocationKey.MEMBER_DAYS)],
    )


@hyp_settings(max_examples=60, deadline=None)
@given(rows=session_rows)
def test_splitting_by_party_creates_and_loses_no_cent(
    rows: list[tuple[str, int, int, str, int]],
) -> None:
    split = bill_month(month_of(rows, with_parties=True))
    single = bill_month(month_of(rows, with_parties=False))
    for who in MEMBERS:
        parts = [s for s in split.statements if s.member.id == who]
        (whole,) = [s for s in single.statements if s.member.id == who]
        # Net per rate: exactly the same cents, only on more documents.
        by_rate: Counter[int] = Counter()
        for part in parts:
            by_rate.update({line.vat_bp: line.net_cents for line in part.vat})
        assert +by_rate == +Counter({line.vat_bp: line.net_cents for line in whole.vat})
        assert sum(p.net_cents for p in parts) == whole.net_cents
        # VAT is rounded per document: at most half a cent each, per rate, either way.
        assert abs(sum(p.vat_cents for p in parts) - whole.vat_cents) * 2 <= len(parts) * len(RATES)
        # Each party's statement carries the sessions of its cards, and only those.
        for part in parts:
            for charge in part.charges:
                assert (charge.piece.session.party or DEFAULTS[who]) == part.party
        assert sorted(c.piece.session.id for p in parts for c in p.charges) == sorted(
            c.piece.session.id for c in whole.charges
        )
        # Fee, allowances and shares only on the default party's, as on the single one.
        default = [p for p in parts if p.party == DEFAULTS[who]]
        others = [p for p in parts if p.party != DEFAULTS[who]]
        assert [d.fees for d in default] == [whole.fees]
        assert [d.shares for d in default] == [whole.shares]
        assert all(not (o.fees or o.shares or o.allowances) for o in others)
        assert all(p.charges for p in others)
        used = sum(u.used for p in parts for u in p.allowances)
        assert used == sum(u.used for u in whole.allowances) <= ALLOWANCE_MS
