"""iCalendar (RFC 5545) feeds of bookings, and the per-member token a calendar app subscribes with.

A calendar app cannot log in: a member's feed is reached by a token in its URL, the HMAC of her
id under the api's secret, so it needs no table and changes only with the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime

from services.ledger.reservations import Booking

PRODUCT = "-//officina//bookings//EN"


def calendar_token(member: str, secret: str) -> str:
    """The token of a member's feed URL."""
    digest = hmac.new(secret.encode(), b"calendar:" + member.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def token_matches(member: str, token: str, secret: str) -> bool:
    """Whether a feed URL's token is the member's (in constant time)."""
    return hmac.compare_digest(calendar_token(member, secret), token)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    # Lines longer than 75 octets are folded: a line break and one space (RFC 5545 3.1).
    raw = line.encode()
    parts = [raw[:75]]
    raw = raw[75:]
    while raw:
        parts.append(b" " + raw[:74])
        raw = raw[74:]
    return [p.decode(errors="ignore") for p in parts]


def feed(name: str, bookings: Iterable[Booking], *, site: str, summary: str, now: datetime) -> str:
    """A VCALENDAR of bookings, each a VEVENT; `summary` may name {machine} and {member}."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT}",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_text(name)}",
    ]
    for booking in bookings:
        lines += [
            "BEGIN:VEVENT",
            f"UID:booking-{booking.id}@{site}.officina",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(booking.starts_at)}",
            f"DTEND:{_stamp(booking.ends_at)}",
            f"SUMMARY:{_text(summary.format(machine=booking.machine, member=booking.member))}",
            "STATUS:CONFIRMED",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(f"{part}\r\n" for line in lines for part in _fold(line))
