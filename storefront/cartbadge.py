"""The header's cart link shows how many tickets the buyer's open order holds.

Pages are shared between buyers (whole-page cache, render-once event pages), so templates
write a placeholder and the count is filled in per response, from what the checkout last
learnt (``response.cart_count``) or the buyer's cart cookie. The cookie is only a display
hint: the cart itself always reads the server-side session."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from merchants.shop import current

PLACEHOLDER = b"<!--cart-count-->"
COOKIE = "gm_cart"


def cookie_name() -> str:
    """Each merchant's count in its own cookie (a browser may hold carts at several)."""
    slug = current().slug
    return f"{COOKIE}-{slug}" if slug else COOKIE


MAX_SHOWN = 999


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
    if PLACEHOLDER not in response.content:
        return response
    count = count_from(request, response)
    response.content = response.content.replace(PLACEHOLDER, str(count).encode() if count else b"")
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response


class CartBadgeMiddleware:
    """Outside the page cache, so cached pages get the count too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return fill(request, self.get_response(request))
