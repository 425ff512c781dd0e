"""Who sent a request: the socket's address, or the one our own proxies vouch for.

Anyone can send ``X-Forwarded-For``, so it is read only when ``TRUSTED_PROXY_COUNT`` says how
many proxies in front of us append to it; the client is the entry the outermost trusted proxy
added, and anything to its left is the client's own claim.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# Headers a proxy on this host would add; with any of them, loopback is not the client.
FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def client_ip(request: HttpRequest) -> str:
    remote: str = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < trusted:  # it did not come through all our proxies
        return remote
    claimed = hops[-trusted]
    return claimed if _valid(claimed) else remote


def is_loopback(request: HttpRequest) -> bool:
    """Sent from this machine, and not relayed by a proxy on it."""
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    address = request.META.get("REMOTE_ADDR", "")
    return _valid(address) and ipaddress.ip_address(address).is_loopback


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
