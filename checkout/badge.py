"""The header's cart link shows how many tickets the buyer's open order holds.

The count travels in a cookie (count only), set whenever the session's open order changes
(``CartCountMiddleware``). Pages shared between buyers (``infra.pagecache``) leave the badge
empty and the site's script fills it from that cookie; on the buyer's own pages it is filled
in per response (``CartBadgeMiddleware``) from what the checkout last learnt
(``response.cart_count``) or else the cookie, so those show it without JavaScript too. The
cookie is only a display hint: the cart itself always reads the server-side session. Framed
pages have no cookie; they tell the host page the count instead (``context_processors``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from infra.pagecache import is_public
from tenancy.current import current, tenant_of

from . import session

PLACEHOLDER = b"<!--cart-count-->"
COOKIE = "gm_cart"
MAX_SHOWN = 999


def cookie_name() -> str:
    """Each merchant's count in its own cookie (a browser may hold carts at several)."""
    slug = current().slug
    return f"{COOKIE}-{slug}" if slug else COOKIE


def count_from(request: HttpRequest, response: HttpResponse) -> int:
    count = getattr(response, "cart_count", None)
    if count is None:
        value = request.COOKIES.get(cookie_name(), "")
        count = int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else 0
    return max(0, min(int(count), MAX_SHOWN))


def fill(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Put the count where the page asks for it (nothing when the cart is empty)."""
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return response
    if is_public(response) or response.has_header("Content-Encoding"):
        return response  # the same bytes for everyone: the script fills it in
    if PLACEHOLDER not in response.content:
        return response
    count = count_from(request, response)
    response.content = response.content.replace(PLACEHOLDER, str(count).encode() if count else b"")
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response


class CartBadgeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return fill(request, self.get_response(request))


class CartCountMiddleware:
    """After a view that used the session, the response says how many tickets the open order
    holds, and so does the cart cookie (none when there is none)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        store = getattr(request, "session", None)
        if store is None or not store.accessed:  # (an empty session is falsy)
            return response
        count = session.open_ticket_count(request)
        response.cart_count = count  # type: ignore[attr-defined]
        tenant = tenant_of(request)
        if tenant.embed is not None:  # framed pages get the count from the session alone
            return response
        name, path = cookie_name(), tenant.prefix
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
