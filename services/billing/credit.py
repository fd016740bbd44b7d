"""Credit notes, pure: the lines that correct an issued statement, all of it or a net amount.

A whole credit negates the statement's net per VAT rate; a partial one credits a net amount at
one rate and never more than is left after earlier credit notes. No I/O: the store reads the
original and writes what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.billing.errors import BillingInputError, StatementStateError
from services.billing.records import Line, LineKind, vat_summary


def credit_note(
    original: Sequence[Line],
    *,
    number: str,
    reason: str,
    credited_cents: int = 0,
    net_cents: int | None = None,
    vat_bp: int | None = None,
) -> list[Line]:
    """The lines of a credit note against statement `number` whose lines are `original`.

    `credited_cents` is what earlier credit notes already took back (zero or negative);
    `net_cents` None credits everything, else that net amount at `vat_bp` (or the one rate).
    """
    if not reason.strip():
        raise BillingInputError("reason", "a credit note says why")
    by_rate = [vat for vat in vat_summary(original) if vat.net_cents]
    if net_cents is None:
        if credited_cents != 0:
            raise StatementStateError(
                f"{number} was already partly credited: give the amount to credit"
            )
        return [
            Line(
                kind=LineKind.CREDIT,
                net_cents=-vat.net_cents,
                vat_bp=vat.vat_bp,
                reference=number,
                note=reason,
            )
            for vat in by_rate
        ]
    rates = {vat.vat_bp for vat in by_rate}
    if vat_bp is None:
        if len(rates) > 1:
            raise BillingInputError("vat", f"{number} has several VAT rates: name one")
        vat_bp = next(iter(rates), 0)
    left = sum(vat.net_cents for vat in vat_summary(original)) + credited_cents
    if not 0 < net_cents <= left:
        raise BillingInputError(
            "amount", f"must be more than 0 and at most what is left ({left} cents)"
        )
    return [
        Line(
            kind=LineKind.CREDIT, net_cents=-net_cents, vat_bp=vat_bp, reference=number, note=reason
        )
    ]
