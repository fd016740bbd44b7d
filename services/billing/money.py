"""Money and rates as integers, and the one rounding rule billing applies (see RULES.md).

Amounts are integer cents. Prices per unit (per minute, per kWh) are integer micro-euros, so a
price with up to six decimals is exact. Quantities are integer milli-units (milliseconds, mWh).
Every exact amount is an integer fraction; `round_half_up` is the only place it becomes cents.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from services.billing.errors import BillingInputError

CENTS_PER_UNIT = 100
MICROS_PER_UNIT = 1_000_000
MICROS_PER_CENT = MICROS_PER_UNIT // CENTS_PER_UNIT
BASIS_POINTS = 10_000  # 22 % VAT is 2,200 basis points


def round_half_up(numerator: int, denominator: int) -> int:
    """The billing rounding rule: the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def vat_cents(net_cents: int, vat_bp: int) -> int:
    """VAT on a net amount at a rate in basis points, by the one rounding rule."""
    return round_half_up(net_cents * vat_bp, BASIS_POINTS)


def _decimal(text: str | Decimal | int, field: str) -> Decimal:
    try:
        value = Decimal(text) if not isinstance(text, Decimal) else text
    except (InvalidOperation, ValueError) as err:
        raise BillingInputError(field, f"{text!r} is not a number") from err
    if not value.is_finite():
        raise BillingInputError(field, f"{text!r} is not a finite number")
    return value


def _scaled(text: str | Decimal | int, field: str, scale: int, places: int) -> int:
    value = _decimal(str(text).strip().replace(",", ".") if isinstance(text, str) else text, field)
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        raise BillingInputError(field, f"{text!r} has more than {places} decimals")
    return int(scaled)


def parse_cents(text: str | Decimal | int, field: str, *, allow_negative: bool = False) -> int:
    """Cents of an amount written in currency units (`1234.50` or `1234,50`)."""
    cents = _scaled(text, field, CENTS_PER_UNIT, 2)
    if cents < 0 and not allow_negative:
        raise BillingInputError(field, f"{text!r} must not be negative")
    return cents


def parse_micros(text: str | Decimal | int, field: str) -> int:
    """Micro-units of a price per unit (`0.35` per minute), at most six decimals, not negative."""
    micros = _scaled(text, field, MICROS_PER_UNIT, 6)
    if micros < 0:
        raise BillingInputError(field, f"{text!r} must not be negative")
    return micros


def parse_milli(text: str | Decimal | int, field: str) -> int:
    """Milli-units of a quantity (`12.5` m² is 12,500), at most three decimals, not negative."""
    milli = _scaled(text, field, 1000, 3)
    if milli < 0:
        raise BillingInputError(field, f"{text!r} must not be negative")
    return milli


def parse_vat_bp(text: str | Decimal | int, field: str) -> int:
    """Basis points of a VAT rate written in percent (`22` or `4.5`)."""
    bp = _scaled(text, field, 100, 2)
    if not 0 <= bp <= BASIS_POINTS:
        raise BillingInputError(field, f"{text!r} must be a percentage from 0 to 100")
    return bp


def cents_to_decimal(cents: int) -> Decimal:
    """An amount in cents as a Decimal of currency units, for formatting and JSON."""
    return Decimal(cents).scaleb(-2)


def micros_to_decimal(micros: int) -> Decimal:
    """A price in micro-units as a Decimal of currency units."""
    value = Decimal(micros).scaleb(-6)
    # normalize() alone would write 10 as 1E+1.
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
