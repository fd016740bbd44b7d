"""Credit notes from a statement's lines, without a database: no cent is created or lost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.billing.credit import credit_note
from services.billing.errors import BillingInputError, StatementStateError
from services.billing.records import Line, LineKind, vat_summary

NUMBER = "2026/0007"
RATES = (0, 400, 1000, 2200)


@st.composite
def statement_lines(draw: st.DrawFn) -> list[Line]:
    """An issued statement's lines: sessions and pool shares at a few VAT rates, some free."""
    count = draw(st.integers(min_value=1, max_value=12))
    lines = [
        Line(
            kind=draw(st.sampled_from((LineKind.SESSION, LineKind.POOL_SHARE, LineKind.PLAN_FEE))),
            net_cents=draw(st.integers(min_value=0, max_value=500_000)),
            vat_bp=draw(st.sampled_from(RATES)),
        )
        for _ in range(count)
    ]
    if draw(st.booleans()):
        lines.append(Line(kind=LineKind.ALLOWANCE, net_cents=0, quantity=60, key_total=600))
    return lines


def net_by_rate(lines: list[Line]) -> dict[int, int]:
    """Net cents per VAT rate, rates with nothing left out."""
    return {vat.vat_bp: vat.net_cents for vat in vat_summary(lines) if vat.net_cents}


@given(statement_lines())
def test_a_whole_credit_note_takes_back_exactly_the_net_of_every_rate(lines: list[Line]) -> None:
    note = credit_note(lines, number=NUMBER, reason="faulty laser")
    assert net_by_rate(lines) == {rate: -net for rate, net in net_by_rate(note).items()}
    assert sum(line.net_cents for line in lines + note) == 0
    assert all(line.kind is LineKind.CREDIT and line.reference == NUMBER for line in note)


@given(statement_lines(), st.data())
def test_partial_credits_never_take_back_more_than_the_statement_net(
    lines: list[Line], data: st.DataObject
) -> None:
    single_rate = [line for line in lines if line.vat_bp == lines[0].vat_bp]
    net = sum(line.net_cents for line in single_rate)
    credited = 0
    for _ in range(data.draw(st.integers(min_value=1, max_value=5))):
        amount = data.draw(st.integers(min_value=1, max_value=max(net, 1) + 100))
        left = net + credited
        if amount > left:
            with pytest.raises(BillingInputError, match="at most what is left"):
                credit_note(
                    single_rate,
                    number=NUMBER,
                    reason="x",
                    credited_cents=credited,
                    net_cents=amount,
                )
            continue
        note = credit_note(
            single_rate, number=NUMBER, reason="discount", credited_cents=credited, net_cents=amount
        )
        assert [line.net_cents for line in note] == [-amount]
        credited += note[0].net_cents
    assert 0 <= net + credited <= net


@given(statement_lines())
def test_a_whole_credit_after_a_partial_one_is_refused(lines: list[Line]) -> None:
    with pytest.raises(StatementStateError, match="partly credited"):
        credit_note(lines, number=NUMBER, reason="again", credited_cents=-1)


def test_a_partial_credit_on_a_statement_of_several_rates_names_the_rate() -> None:
    lines = [
        Line(kind=LineKind.SESSION, net_cents=1000, vat_bp=2200),
        Line(kind=LineKind.POOL_SHARE, net_cents=500, vat_bp=1000),
    ]
    with pytest.raises(BillingInputError, match="several VAT rates"):
        credit_note(lines, number=NUMBER, reason="discount", net_cents=100)
    note = credit_note(lines, number=NUMBER, reason="discount", net_cents=100, vat_bp=1000)
    assert [(line.net_cents, line.vat_bp) for line in note] == [(-100, 1000)]


def test_a_credit_note_without_a_reason_is_refused_naming_the_field() -> None:
    lines = [Line(kind=LineKind.SESSION, net_cents=1000, vat_bp=2200)]
    with pytest.raises(BillingInputError) as refused:
        credit_note(lines, number=NUMBER, reason="   ")
    assert refused.value.field == "reason"
