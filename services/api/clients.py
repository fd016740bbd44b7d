"""Which address a request comes from: the peer, or what a trusted proxy says it forwarded."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from fastapi import Request

UNKNOWN = "unknown"
Network = IPv4Network | IPv6Network


def proxy_problems(proxies: Sequence[str]) -> list[str]:
    """What is wrong with a list of trusted proxies (addresses or networks), one line each."""
    problems = []
    for proxy in proxies:
        try:
            ip_network(proxy, strict=False)
        except ValueError:
            problems.append(f"trusted_proxies: {proxy!r} is not an address or network")
    return problems


def _networks(proxies: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request, trusted_proxies: Sequence[str]) -> str:
    """The client's address: X-Forwarded-For is read only when the peer is a trusted proxy.

    The header is read from the right (the hop nearest us) and the first address that is not
    itself a trusted proxy is the client; anything a client wrote further left is ignored.
    """
    peer = request.client.host if request.client else UNKNOWN
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
    ]
    client = peer
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            # A garbled hop: trust nothing beyond it.
            break
        client = hop
        if not _trusted(hop, networks):
            break
    return client
