"""Bookings as billing sees them: a fee for each booking used, a charge for each no-show.

A booking of the month is priced by the tariff of its machine, for the member's plan, on the
local day it starts: `booking_fee_cents` if she came, `no_show_cents` if nobody did, VAT at the
tariff's rate. Whole cents, nothing to split: a statement's booking lines add up exactly. A
cancelled booking is never read, so never charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.months import Month, MonthWindow
from services.billing.tariffs import Tariff
from services.ledger.models import BookingRow

# Booking statuses billing reads, as the ledger's reservations write them.
USED = "used"
NO_SHOW = "no_show"


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingUse:
    """A settled booking of the month: used by its member, or a no-show."""

    id: int
    member: str
    site: str
    machine: str
    starts_at: datetime
    day: date  # the local day it starts, whose tariff prices it
    no_show: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingCharge:
    """What one booking costs on a statement."""

    booking: BookingUse
    net_cents: int
    vat_bp: int

    @property
    def no_show(self) -> bool:
        """Whether it is a no-show's charge (else a booking's fee)."""
        return self.booking.no_show


def booking_charge(booking: BookingUse, tariff: Tariff) -> BookingCharge | None:
    """A booking priced by its tariff; None when the tariff charges nothing for it."""
    cents = tariff.no_show_cents if booking.no_show else tariff.booking_fee_cents
    if cents <= 0:
        return None
    return BookingCharge(booking=booking, net_cents=cents, vat_bp=tariff.vat_bp)


def bookings_in(db: Session, month: Month, tz: ZoneInfo) -> list[BookingUse]:
    """The bookings used or no-show that start in a local month, oldest first."""
    window = MonthWindow(month, tz)
    query = (
        select(BookingRow)
        .where(
            BookingRow.starts_at >= window.start,
            BookingRow.starts_at < window.end,
            BookingRow.status.in_((USED, NO_SHOW)),
        )
        .order_by(BookingRow.starts_at, BookingRow.id)
    )
    return [
        BookingUse(
            id=row.id,
            member=row.member,
            site=row.site,
            machine=row.machine,
            starts_at=row.starts_at,
            day=row.starts_at.astimezone(tz).date(),
            no_show=row.status == NO_SHOW,
        )
        for row in db.scalars(query)
    ]
