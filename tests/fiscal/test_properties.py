"""No cent is lost between the lines, the VAT summaries and the document total in the XML."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import xmlschema
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from services.billing.money import vat_cents as billing_vat_cents
from services.fiscal.document import DocumentLine, FiscalDocument, vat_cents, vat_summaries
from services.fiscal.fatturapa import fattura_xml
from services.fiscal.natura import Natura
from tests.fiscal.examples import statement, workshop

RATES = [Decimal(r) for r in ("22", "10", "5", "4", "0")]


@st.composite
def document_lines(draw: st.DrawFn) -> DocumentLine:
    """A line at a usual or an arbitrary rate, a fractional quantity and a price in cents."""
    rate = draw(
        st.sampled_from(RATES)
        | st.integers(min_value=1, max_value=10_000).map(lambda bp: Decimal(bp).scaleb(-2))
    )
    natura = draw(st.sampled_from(list(Natura))) if rate == 0 else None
    places = draw(st.integers(min_value=0, max_value=3))
    quantity = Decimal(draw(st.integers(min_value=1, max_value=999_999))).scaleb(-places)
    unit_price = draw(st.integers(min_value=-50_000, max_value=5_000_000))
    total = int((quantity * unit_price).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return DocumentLine(
        description="Tempo macchina",
        quantity=quantity,
        unit="h",
        unit_price_cents=unit_price,
        total_cents=total,
        vat_rate=rate,
        natura=natura,
    )


@st.composite
def documents(draw: st.DrawFn) -> FiscalDocument:
    """A statement of one to eight random lines; the workshop may charge the stamp duty."""
    lines = tuple(draw(st.lists(document_lines(), min_size=1, max_size=8)))
    # Discount lines may be negative, but a statement that owes the party money is a credit note.
    assume(sum(s.taxable_cents + s.vat_cents for s in vat_summaries(lines)) >= 0)
    charged = draw(st.booleans())
    return statement(*lines, workshop=workshop(stamp_duty_charged_to_party=charged))


def cents(element: etree._Element, tag: str) -> int:
    """An amount child of an element, as integer cents (exact: two decimals in the XML)."""
    value = Decimal(element.findtext(tag) or "nan") * 100
    assert value == value.to_integral_value()
    return int(value)


def key(element: etree._Element) -> tuple[Decimal, str]:
    """The (rate, Natura) an XML line or summary belongs to."""
    return Decimal(element.findtext("AliquotaIVA") or "nan"), element.findtext("Natura") or ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents())
def test_total_is_lines_plus_vat_and_summaries_add_up_to_the_lines(
    document: FiscalDocument, fatturapa_schema: xmlschema.XMLSchema
) -> None:
    xml = fattura_xml(document)
    fatturapa_schema.validate(xml.decode())
    root = etree.fromstring(xml)
    lines = root.findall(".//DettaglioLinee")
    summaries = root.findall(".//DatiRiepilogo")
    by_key: defaultdict[tuple[Decimal, str], int] = defaultdict(int)
    for line in lines:
        by_key[key(line)] += cents(line, "PrezzoTotale")
    assert {key(s) for s in summaries} == set(by_key)
    assert len(summaries) == len(by_key)
    for summary in summaries:
        taxable = cents(summary, "ImponibileImporto")
        rate = key(summary)[0]
        assert taxable == by_key[key(summary)]
        expected = (Decimal(taxable) * rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        assert cents(summary, "Imposta") == int(expected)
    vat = sum(cents(s, "Imposta") for s in summaries)
    general = root.find(".//DatiGeneraliDocumento")
    assert general is not None
    total = cents(general, "ImportoTotaleDocumento")
    assert total == sum(by_key.values()) + vat
    assert total == document.total_cents
    payment = root.find(".//DettaglioPagamento")
    assert payment is not None and cents(payment, "ImportoPagamento") == total
    written = sum(cents(line, "PrezzoTotale") for line in lines)
    charged = document.workshop.stamp_duty_charged_to_party and document.stamp_duty
    assert written == sum(line.total_cents for line in document.lines) + (200 if charged else 0)


@given(
    taxable=st.integers(min_value=-(10**12), max_value=10**12),
    basis_points=st.integers(min_value=0, max_value=10_000),
)
def test_vat_rounds_like_billing_does(taxable: int, basis_points: int) -> None:
    assert vat_cents(taxable, Decimal(basis_points).scaleb(-2)) == billing_vat_cents(
        taxable, basis_points
    )
