"""Framed pages tell the host page how many tickets the open order holds; full pages name
the cookie the site's script reads the count from."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenancy.current import is_framed

from . import badge, session


def cart(request: HttpRequest) -> dict[str, Any]:
    if not is_framed():
        name = badge.cookie_name() if getattr(request, "tenant", None) is not None else ""
        return {"embed_cart_count": None, "cart_cookie_name": name}
    if not hasattr(request, "session"):
        return {"embed_cart_count": None, "cart_cookie_name": ""}
    return {"embed_cart_count": session.open_ticket_count(request), "cart_cookie_name": ""}
