"""Framed pages tell the host page how many tickets the open order holds."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenancy.current import is_framed

from . import session


def cart(request: HttpRequest) -> dict[str, Any]:
    if not is_framed() or not hasattr(request, "session"):
        return {"embed_cart_count": None}
    return {"embed_cart_count": session.open_ticket_count(request)}
