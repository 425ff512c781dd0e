"""Keeps the buyer's cart cookie (the header's count) in step with their open order."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from storefront import cartbadge

from . import session


class CartCountMiddleware:
    """After a view that used the session, the cookie says how many tickets the open order
    holds (no cookie when there is none)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        store = getattr(request, "session", None)
        if store is None or not store.accessed:  # (an empty session is falsy)
            return response
        has_open = request.session.get(session.OPEN_KEY) is not None
        count = int(request.session.get(session.COUNT_KEY) or 0) if has_open else 0
        response.cart_count = count
        if request.embed is not None:  # framed pages get the count from the session alone
            return response
        name, path = cartbadge.cookie_name(), request.shop_prefix
        if str(count) != request.COOKIES.get(name, "0"):
            if count:
                response.set_cookie(
                    name,
                    str(count),
                    max_age=settings.SESSION_COOKIE_AGE,
                    path=path,
                    secure=settings.SESSION_COOKIE_SECURE,
                    samesite="Lax",
                )
            else:
                response.delete_cookie(name, path=path, samesite="Lax")
        return response
