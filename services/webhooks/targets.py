"""Target URLs: well-formed, without credentials, and not pointing where no webhook may go.

A target that resolves to a link-local address (169.254.0.0/16, where cloud metadata services
answer, or fe80::/10) is refused unless allowed; loopback only when allowed (tests, a receiver on
the same box). The check runs when a subscription is made and again before every delivery, since
a name may resolve elsewhere later.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.webhooks.errors import TargetRefusedError

MAX_URL_LENGTH = 2048
SCHEMES = frozenset({"http", "https"})

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetPolicy:
    """Which address ranges a target may resolve to besides the public ones."""

    allow_loopback: bool = False
    allow_link_local: bool = False


def check_url(url: str, field: str = "url") -> str:
    """The URL if it is well-formed http(s) without credentials; else TargetRefusedError."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefusedError(field, f"longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise TargetRefusedError(field, "not a valid URL") from err
    if parts.scheme not in SCHEMES:
        raise TargetRefusedError(field, "must be an http or https URL")
    if not parts.hostname:
        raise TargetRefusedError(field, "names no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefusedError(field, "must not carry credentials; the signature authenticates")
    if port == 0:
        raise TargetRefusedError(field, "port 0 is not a port")
    return url


def addresses(host: str, port: int) -> list[IpAddress]:
    """The addresses a host name resolves to."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise TargetRefusedError("url", "its host does not resolve") from err
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]


def refusal(address: IpAddress, policy: TargetPolicy) -> str | None:
    """Why an address may not be a target under the policy, or None if it may."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address.is_link_local and not policy.allow_link_local:
        return "resolves to a link-local address (cloud metadata lives there)"
    if address.is_loopback and not policy.allow_loopback:
        return "resolves to a loopback address"
    if address.is_unspecified or address.is_multicast:
        return "resolves to an address no server answers on"
    return None


def check_target(url: str, policy: TargetPolicy, field: str = "url") -> str:
    """The URL if it is well-formed and every address it resolves to is allowed."""
    parts = urlsplit(check_url(url, field))
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in addresses(host, port):
        reason = refusal(address, policy)
        if reason is not None:
            raise TargetRefusedError(field, reason)
    return url
