"""The scheme a TLS-terminating proxy on a trusted address says the request came over.

A proxy on the same machine (the reference nginx) ends TLS and passes the request on over
plain HTTP with ``X-Forwarded-Proto``. The request is HTTPS to Django (redirects, Secure
cookies, HSTS) only when that header comes from an address in ``FORWARDED_ALLOW_IPS``: any
other client could claim it. The client's address is left alone (``infra.clientip`` reads
``X-Forwarded-For`` with ``TRUSTED_PROXY_COUNT``). A proxy on another host is trusted by
naming it here, or with Django's ``SECURE_PROXY_SSL_HEADER``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(allowed: str) -> list[Network]:
    """``FORWARDED_ALLOW_IPS``: addresses or networks, comma-separated."""
    return [ipaddress.ip_network(part.strip()) for part in allowed.split(",") if part.strip()]


def _trusted(address: str, trusted: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def scheme_from_trusted_proxy(app: WSGIApp, allowed: str) -> WSGIApp:
    trusted = networks(allowed)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "").strip().lower()
        if proto in ("http", "https") and _trusted(environ.get("REMOTE_ADDR", ""), trusted):
            environ["wsgi.url_scheme"] = proto
        return app(environ, start_response)

    return application
